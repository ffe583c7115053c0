// Cairo, the 2-D library blasnet draws its pictures with: image surfaces written as PNG, SVG surfaces.
#include <cairo.h>
#include <cairo-svg.h>
