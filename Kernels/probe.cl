// A trivial copy kernel: the smallest program that proves a device compiles and runs OpenCL C.
// Used only by the wrapper tests (Tests/ICLOpenCLTests/CLWrapperTests.swift); `icl devices` lists the devices
// without compiling or running it.
__kernel void icl_probe_copy(__global const float* a, __global float* b) {
    size_t i = get_global_id(0);
    b[i] = a[i];
}
