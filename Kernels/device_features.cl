// What the device's OpenCL C compiler targets, as bits the host reads once per device to choose the
// target-specific kernel files a program is built from (Sources/ICLOpenCL/Programs/DevicePath.swift):
//   bit 0: AVX-512F instructions (PoCL on an x86 CPU that has them: clang predefines __AVX512F__)
//   bit 1: AVX2;  bit 2: FMA
// Nothing else in the kernels tests these macros: the host, not a kernel, picks a device's path.
__kernel void icl_device_features(__global int* out) {
    int bits = 0;
#ifdef __AVX512F__
    bits |= 1;
#endif
#ifdef __AVX2__
    bits |= 2;
#endif
#ifdef __FMA__
    bits |= 4;
#endif
    out[0] = bits;
}
