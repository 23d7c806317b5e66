// The one C header Swift sees: the system OpenCL API, pinned to OpenCL 1.2 so PoCL,
// NVIDIA, AMD and Intel drivers all expose every entry point we call.
#ifndef ICL_COPENCL_SHIM_H
#define ICL_COPENCL_SHIM_H
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#endif
