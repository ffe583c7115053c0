// BlasNet: the module a user imports. It re-exports the core (network, loss, Adam, trainer, both
// engines) and the file formats (IDX, PGM, MNIST, safetensors model files, atomic writes), so
// `import BlasNet` is all another package needs to build, train, save and load a network.
//
// Layering (each module imports only those above it in this list):
//   BlasNetCore      buffers, layers, loss, network, Adam, trainer, engine protocol, OpenBLAS and Swift engines
//   BlasNetIO        IDX/PGM readers, the MNIST data set, safetensors, model files, atomic writer
//   BlasNet          this umbrella
//   BlasNetPictures  pictures on Cairo from plain arrays (imports no BlasNet module)
//   BlasNetBench     the throughput benchmark and the accuracy regression check (used by the tool)
//   blasnet          the command-line tool
@_exported import BlasNetCore
@_exported import BlasNetIO
