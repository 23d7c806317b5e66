// A trivial copy kernel: the smallest program that proves a device compiles and runs OpenCL C.
// Used by the wrapper tests and by device probes (`icl devices`).
__kernel void icl_probe_copy(__global const float* a, __global float* b) {
    size_t i = get_global_id(0);
    b[i] = a[i];
}
