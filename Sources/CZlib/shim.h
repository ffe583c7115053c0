#ifndef BLASNET_CZLIB_SHIM_H
#define BLASNET_CZLIB_SHIM_H
// zlib (zlib1g-dev, already required by Cairo's libpng), for reading gzipped IDX files.
#include <zlib.h>
#endif
