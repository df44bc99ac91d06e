/* What the emulated driver (driver.c) and the kernels' host objects (nvcc.py) share: the image
   header and each kernel's descriptor. C and C++. */

#ifndef EMUCUDA_H
#define EMUCUDA_H

#include <stddef.h>

#define EMUCUDA_MAGIC "EMUCUDA-IMAGE-1"            /* 16 bytes with its NUL */
#define EMUCUDA_KERNEL_PREFIX "emucuda_kernel_"
#define EMUCUDA_GLOBAL_PREFIX "emucuda_global_"
#define EMUCUDA_DEVICE_NAME "NVIDIA H100 (emulated on the host)"

#ifdef __cplusplus
extern "C" {
#endif

/* An image: this header, then `size` bytes of a host shared object. */
struct emucuda_image_header {
	char magic[16];
	unsigned long long size;
};

/* One launch as the driver hands it to a kernel: its parameters either as kernelParams (an
   array of pointers to each) or as one buffer laid out as the CUDA ABI lays them out. */
struct emucuda_launch {
	unsigned grid[3], block[3];
	unsigned sharedBytes;
	void **params;
	const void *buffer;
	size_t bufferSize;
};

struct emucuda_kernel {
	const char *name;
	size_t paramsSize;                     /* the end of the last parameter in the buffer */
	void (*launch)(const struct emucuda_launch *launch);
};

struct emucuda_global {
	void *address;
	size_t size;
};

/* The driver's counters (emucuda_get_stats). */
struct emucuda_stats {
	unsigned long long allocCalls, freeCalls, liveAllocations, bytesInUse, launches, faults;
};

#ifdef __cplusplus
}
#endif

#endif
