// Imported first by the files of this folder: they test a machine without a usable GPU. A
// KILN_CUDA_LIB naming no file gives exactly that on any machine (the core's loader reports why),
// so they hold on a GPU machine too; the GPU side is tests/gpu (npm run test:gpu).
process.env.KILN_CUDA_LIB = '/nonexistent/kiln_cuda.so';
