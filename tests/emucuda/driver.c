/* An emulated CUDA driver (libcuda.so.1) that runs on the host, for running the real pycuda
   without a GPU.

   One device; "device memory" is host memory, so a device pointer is a host address. Each
   allocation is mapped on its own, 256-byte aligned, with its rounded end against an
   inaccessible guard page (and one before it), so an out-of-bounds access in a kernel faults.
   A fault inside a kernel is caught and becomes the context's sticky CUDA_ERROR_ILLEGAL_ADDRESS,
   as on a GPU. Kernels are host shared objects made by the nvcc stand-in (nvcc.py): an image is
   EMUCUDA_MAGIC followed by the object's bytes. Streams and events are synchronous: a launch
   runs to its end before cuLaunchKernel returns.

   What is not emulated returns CUDA_ERROR_NOT_SUPPORTED (stubs.c, generated from the symbols
   pycuda links); cuGetErrorString says "not emulated" for it.

   Environment:
     PUZZLELIB_EMUCUDA_MEMORY=BYTES     device memory (default 80 GB); allocations past it fail
                                        with CUDA_ERROR_OUT_OF_MEMORY
     PUZZLELIB_EMUCUDA_NO_DEVICE=1      cuInit fails with CUDA_ERROR_NO_DEVICE
     PUZZLELIB_EMUCUDA_DRIVER_VERSION=N the version cuDriverGetVersion reports (default: the
                                        toolkit's CUDA_VERSION); lower it to play an old driver
*/

#define _GNU_SOURCE
#define CUDA_ENABLE_DEPRECATED 1       /* this file defines the deprecated entry points too */
#include <cuda.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "emucuda.h"

#define EXPORT __attribute__((visibility("default")))

#define ALIGNMENT 256
#define DEFAULT_MEMORY (80ull << 30)


/* {{{ state */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int initialised;
static unsigned long long memoryBudget, memoryUsed;
static struct emucuda_stats stats;

struct CUctx_st {
	int primary;
	int refcount;             /* primary: retains; created: 1 until destroyed */
	unsigned flags;
	CUresult sticky;          /* a kernel's fault: every later call on the context returns it */
};

static struct CUctx_st primaryContext = {1, 0, 0, CUDA_SUCCESS};

#define STACK_DEPTH 64
static __thread CUcontext contextStack[STACK_DEPTH];
static __thread int stackDepth;

static CUcontext current(void) { return stackDepth ? contextStack[stackDepth - 1] : NULL; }

static unsigned long long envNumber(const char *name, unsigned long long fallback)
{
	const char *value = getenv(name);
	if (!value || !*value)
		return fallback;
	char *end;
	unsigned long long number = strtoull(value, &end, 0);
	return *end ? fallback : number;
}

/* Calls that need a live current context: the error CUDA would give, or success. */
static CUresult contextReady(void)
{
	if (!initialised)
		return CUDA_ERROR_NOT_INITIALIZED;
	CUcontext ctx = current();
	if (!ctx)
		return CUDA_ERROR_INVALID_CONTEXT;
	return ctx->sticky;
}

#define READY() do { CUresult ready_ = contextReady(); if (ready_ != CUDA_SUCCESS) return ready_; } while (0)

/* }}} */


/* {{{ init, versions, errors */

EXPORT CUresult cuInit(unsigned flags)
{
	if (flags != 0)
		return CUDA_ERROR_INVALID_VALUE;
	if (envNumber("PUZZLELIB_EMUCUDA_NO_DEVICE", 0))
		return CUDA_ERROR_NO_DEVICE;

	pthread_mutex_lock(&lock);
	if (!initialised) {
		memoryBudget = envNumber("PUZZLELIB_EMUCUDA_MEMORY", DEFAULT_MEMORY);
		initialised = 1;
	}
	pthread_mutex_unlock(&lock);
	return CUDA_SUCCESS;
}

EXPORT CUresult cuDriverGetVersion(int *version)
{
	if (!version)
		return CUDA_ERROR_INVALID_VALUE;
	*version = (int)envNumber("PUZZLELIB_EMUCUDA_DRIVER_VERSION", CUDA_VERSION);
	return CUDA_SUCCESS;
}

static const struct { CUresult code; const char *name, *text; } ERRORS[] = {
	{CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
	{CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
	{CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
	{CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
	{CUDA_ERROR_DEINITIALIZED, "CUDA_ERROR_DEINITIALIZED", "driver shutting down"},
	{CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
	{CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
	{CUDA_ERROR_INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
	{CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
	{CUDA_ERROR_CONTEXT_ALREADY_IN_USE, "CUDA_ERROR_CONTEXT_ALREADY_IN_USE", "context already in use"},
	{CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
	{CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
	{CUDA_ERROR_NOT_READY, "CUDA_ERROR_NOT_READY", "device not ready"},
	{CUDA_ERROR_ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
	{CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"},
	{CUDA_ERROR_LAUNCH_FAILED, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
	{CUDA_ERROR_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported: not emulated by the host-emulated driver"},
	{CUDA_ERROR_UNKNOWN, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

static int errorIndex(CUresult code)
{
	for (size_t k = 0; k < sizeof ERRORS / sizeof *ERRORS; k++)
		if (ERRORS[k].code == code)
			return (int)k;
	return -1;
}

EXPORT CUresult cuGetErrorString(CUresult error, const char **text)
{
	if (!text)
		return CUDA_ERROR_INVALID_VALUE;
	int k = errorIndex(error);
	*text = k < 0 ? NULL : ERRORS[k].text;
	return k < 0 ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

EXPORT CUresult cuGetErrorName(CUresult error, const char **name)
{
	if (!name)
		return CUDA_ERROR_INVALID_VALUE;
	int k = errorIndex(error);
	*name = k < 0 ? NULL : ERRORS[k].name;
	return k < 0 ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

/* }}} */


/* {{{ device */

static CUresult validDevice(CUdevice dev)
{
	if (!initialised)
		return CUDA_ERROR_NOT_INITIALIZED;
	return dev == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

EXPORT CUresult cuDeviceGetCount(int *count)
{
	if (!count)
		return CUDA_ERROR_INVALID_VALUE;
	if (!initialised)
		return CUDA_ERROR_NOT_INITIALIZED;
	*count = 1;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
	if (!device)
		return CUDA_ERROR_INVALID_VALUE;
	CUresult status = validDevice(ordinal);
	if (status == CUDA_SUCCESS)
		*device = ordinal;
	return status;
}

EXPORT CUresult cuDeviceGetName(char *name, int length, CUdevice dev)
{
	CUresult status = validDevice(dev);
	if (status != CUDA_SUCCESS)
		return status;
	if (!name || length <= 0)
		return CUDA_ERROR_INVALID_VALUE;
	snprintf(name, (size_t)length, "%s", EMUCUDA_DEVICE_NAME);
	return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceTotalMem(size_t *bytes, CUdevice dev)
{
	CUresult status = validDevice(dev);
	if (status != CUDA_SUCCESS)
		return status;
	if (!bytes)
		return CUDA_ERROR_INVALID_VALUE;
	*bytes = memoryBudget;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceComputeCapability(int *major, int *minor, CUdevice dev)
{
	CUresult status = validDevice(dev);
	if (status != CUDA_SUCCESS)
		return status;
	*major = 9;
	*minor = 0;
	return CUDA_SUCCESS;
}

/* An H100-class device: compute capability 9.0, 132 SMs of 2048 threads. */
static int attributeValue(CUdevice_attribute attribute, int *value)
{
	switch (attribute) {
	case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *value = 1024; break;
	case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X: *value = 1024; break;
	case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y: *value = 1024; break;
	case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z: *value = 64; break;
	case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X: *value = 2147483647; break;
	case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y: *value = 65535; break;
	case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z: *value = 65535; break;
	case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK: *value = 49152; break;
	case CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY: *value = 65536; break;
	case CU_DEVICE_ATTRIBUTE_WARP_SIZE: *value = 32; break;
	case CU_DEVICE_ATTRIBUTE_MAX_PITCH: *value = 2147483647; break;
	case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK: *value = 65536; break;
	case CU_DEVICE_ATTRIBUTE_CLOCK_RATE: *value = 1980000; break;
	case CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT: *value = 512; break;
	case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *value = 132; break;
	case CU_DEVICE_ATTRIBUTE_INTEGRATED: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY: *value = 1; break;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_MODE: *value = CU_COMPUTEMODE_DEFAULT; break;
	case CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS: *value = 1; break;
	case CU_DEVICE_ATTRIBUTE_ECC_ENABLED: *value = 1; break;
	case CU_DEVICE_ATTRIBUTE_PCI_BUS_ID: *value = 1; break;
	case CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE: *value = 2619000; break;
	case CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH: *value = 5120; break;
	case CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE: *value = 50 << 20; break;
	case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR: *value = 2048; break;
	case CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT: *value = 3; break;
	case CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING: *value = 1; break;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *value = 9; break;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR: *value = 233472; break;
	case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR: *value = 65536; break;
	case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: *value = 232448; break;
	case CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR: *value = 32; break;
	default:
		if ((int)attribute <= 0 || attribute >= CU_DEVICE_ATTRIBUTE_MAX)
			return 0;
		*value = 0;          /* a feature this device does not advertise */
	}
	return 1;
}

EXPORT CUresult cuDeviceGetAttribute(int *value, CUdevice_attribute attribute, CUdevice dev)
{
	CUresult status = validDevice(dev);
	if (status != CUDA_SUCCESS)
		return status;
	if (!value || !attributeValue(attribute, value))
		return CUDA_ERROR_INVALID_VALUE;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetPCIBusId(char *pciBusId, int length, CUdevice dev)
{
	CUresult status = validDevice(dev);
	if (status != CUDA_SUCCESS)
		return status;
	snprintf(pciBusId, (size_t)length, "0000:01:00.0");
	return CUDA_SUCCESS;
}

/* }}} */


/* {{{ contexts */

static CUresult push(CUcontext ctx)
{
	if (stackDepth == STACK_DEPTH)
		return CUDA_ERROR_INVALID_VALUE;
	contextStack[stackDepth++] = ctx;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext *ctx, CUdevice dev)
{
	CUresult status = validDevice(dev);
	if (status != CUDA_SUCCESS)
		return status;
	pthread_mutex_lock(&lock);
	primaryContext.refcount++;
	pthread_mutex_unlock(&lock);
	*ctx = &primaryContext;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRelease(CUdevice dev)
{
	CUresult status = validDevice(dev);
	if (status != CUDA_SUCCESS)
		return status;
	pthread_mutex_lock(&lock);
	status = primaryContext.refcount > 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
	if (primaryContext.refcount > 0)
		primaryContext.refcount--;
	pthread_mutex_unlock(&lock);
	return status;
}

EXPORT CUresult cuDevicePrimaryCtxGetState(CUdevice dev, unsigned *flags, int *active)
{
	CUresult status = validDevice(dev);
	if (status != CUDA_SUCCESS)
		return status;
	*flags = primaryContext.flags;
	*active = primaryContext.refcount > 0;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxSetFlags(CUdevice dev, unsigned flags)
{
	CUresult status = validDevice(dev);
	if (status == CUDA_SUCCESS)
		primaryContext.flags = flags;
	return status;
}

EXPORT CUresult cuDevicePrimaryCtxReset(CUdevice dev)
{
	CUresult status = validDevice(dev);
	if (status == CUDA_SUCCESS)
		primaryContext.sticky = CUDA_SUCCESS;
	return status;
}

EXPORT CUresult cuCtxCreate(CUcontext *pctx, CUctxCreateParams *params, unsigned flags, CUdevice dev)
{
	CUresult status = validDevice(dev);
	if (status != CUDA_SUCCESS)
		return status;
	if (!pctx || params)
		return params ? CUDA_ERROR_NOT_SUPPORTED : CUDA_ERROR_INVALID_VALUE;

	CUcontext ctx = calloc(1, sizeof *ctx);
	if (!ctx)
		return CUDA_ERROR_OUT_OF_MEMORY;
	ctx->refcount = 1;
	ctx->flags = flags;
	status = push(ctx);
	if (status != CUDA_SUCCESS) {
		free(ctx);
		return status;
	}
	*pctx = ctx;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxDestroy(CUcontext ctx)
{
	if (!initialised)
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!ctx || ctx->primary)
		return CUDA_ERROR_INVALID_CONTEXT;
	/* off this thread's stack wherever it is */
	int kept = 0;
	for (int k = 0; k < stackDepth; k++)
		if (contextStack[k] != ctx)
			contextStack[kept++] = contextStack[k];
	stackDepth = kept;
	free(ctx);
	return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxPushCurrent(CUcontext ctx)
{
	if (!initialised)
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!ctx)
		return CUDA_ERROR_INVALID_CONTEXT;
	return push(ctx);
}

EXPORT CUresult cuCtxPopCurrent(CUcontext *pctx)
{
	if (!initialised)
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!stackDepth)
		return CUDA_ERROR_INVALID_CONTEXT;
	CUcontext ctx = contextStack[--stackDepth];
	if (pctx)
		*pctx = ctx;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetCurrent(CUcontext *pctx)
{
	if (!initialised)
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	*pctx = current();
	return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSetCurrent(CUcontext ctx)
{
	if (!initialised)
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!ctx) {
		if (stackDepth)
			stackDepth--;
		return CUDA_SUCCESS;
	}
	if (stackDepth)
		contextStack[stackDepth - 1] = ctx;
	else
		contextStack[stackDepth++] = ctx;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetDevice(CUdevice *device)
{
	if (!initialised)
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!current())
		return CUDA_ERROR_INVALID_CONTEXT;
	*device = 0;
	return CUDA_SUCCESS;
}

/* the legacy reference count of a created context */
EXPORT CUresult cuCtxAttach(CUcontext *pctx, unsigned flags)
{
	if (flags)
		return CUDA_ERROR_INVALID_VALUE;
	READY();
	current()->refcount++;
	*pctx = current();
	return CUDA_SUCCESS;
}

/* pycuda's context destructor detaches a primary context this way too (its C++ destructor calls
   the base class's detach): taken as a release, which is what pycuda users see on a GPU */
EXPORT CUresult cuCtxDetach(CUcontext ctx)
{
	if (!initialised)
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!ctx)
		return CUDA_ERROR_INVALID_CONTEXT;
	if (ctx->primary) {
		for (int k = stackDepth - 1; k >= 0; k--)
			if (contextStack[k] == ctx) {
				memmove(contextStack + k, contextStack + k + 1, (size_t)(stackDepth - k - 1) * sizeof *contextStack);
				stackDepth--;
				break;
			}
		return cuDevicePrimaryCtxRelease(0);
	}
	if (--ctx->refcount > 0)
		return CUDA_SUCCESS;
	ctx->refcount = 1;
	return cuCtxDestroy(ctx);
}

EXPORT CUresult cuCtxGetApiVersion(CUcontext ctx, unsigned *version)
{
	if (!initialised)
		return CUDA_ERROR_NOT_INITIALIZED;
	*version = 3020;
	(void)ctx;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetFlags(unsigned *flags)
{
	READY();
	*flags = current()->flags;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSynchronize(void)
{
	READY();
	return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetLimit(size_t *value, CUlimit limit)
{
	READY();
	switch (limit) {
	case CU_LIMIT_STACK_SIZE: *value = 1024; break;
	case CU_LIMIT_PRINTF_FIFO_SIZE: *value = 1 << 20; break;
	case CU_LIMIT_MALLOC_HEAP_SIZE: *value = 8 << 20; break;
	default: return CUDA_ERROR_NOT_SUPPORTED;
	}
	return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSetLimit(CUlimit limit, size_t value)
{
	(void)value;
	READY();
	return limit == CU_LIMIT_STACK_SIZE || limit == CU_LIMIT_PRINTF_FIFO_SIZE || limit == CU_LIMIT_MALLOC_HEAP_SIZE
		? CUDA_SUCCESS : CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuCtxGetCacheConfig(CUfunc_cache *config)
{
	READY();
	*config = CU_FUNC_CACHE_PREFER_NONE;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSetCacheConfig(CUfunc_cache config)
{
	(void)config;
	READY();
	return CUDA_SUCCESS;
}

/* }}} */


/* {{{ memory */

/* Allocations by address: an open-addressing table (device pointers are page-distinct). */
struct allocation { uintptr_t address; void *mapping; size_t mapped, size; };

static struct allocation *table;
static size_t tableCapacity, tableCount;

static size_t slot(uintptr_t address, size_t capacity)
{
	return (size_t)((address >> 8) * 0x9E3779B97F4A7C15ull) & (capacity - 1);
}

static int tableInsert(struct allocation entry)
{
	if (2 * (tableCount + 1) > tableCapacity) {
		size_t capacity = tableCapacity ? 2 * tableCapacity : 1024;
		struct allocation *grown = calloc(capacity, sizeof *grown);
		if (!grown)
			return 0;
		for (size_t k = 0; k < tableCapacity; k++)
			if (table[k].address) {
				size_t s = slot(table[k].address, capacity);
				while (grown[s].address)
					s = (s + 1) & (capacity - 1);
				grown[s] = table[k];
			}
		free(table);
		table = grown;
		tableCapacity = capacity;
	}
	size_t s = slot(entry.address, tableCapacity);
	while (table[s].address)
		s = (s + 1) & (tableCapacity - 1);
	table[s] = entry;
	tableCount++;
	return 1;
}

static int tableRemove(uintptr_t address, struct allocation *removed)
{
	if (!tableCapacity)
		return 0;
	size_t s = slot(address, tableCapacity);
	while (table[s].address && table[s].address != address)
		s = (s + 1) & (tableCapacity - 1);
	if (!table[s].address)
		return 0;
	*removed = table[s];
	table[s].address = 0;
	tableCount--;
	/* re-seat the rest of the cluster (linear probing deletion) */
	for (size_t t = (s + 1) & (tableCapacity - 1); table[t].address; t = (t + 1) & (tableCapacity - 1)) {
		struct allocation moved = table[t];
		table[t].address = 0;
		tableCount--;
		tableInsert(moved);
	}
	return 1;
}

static size_t pageSize(void)
{
	static size_t size;
	if (!size)
		size = (size_t)sysconf(_SC_PAGESIZE);
	return size;
}

EXPORT CUresult cuMemAlloc(CUdeviceptr *dptr, size_t bytesize)
{
	READY();
	if (!dptr || bytesize == 0)
		return CUDA_ERROR_INVALID_VALUE;

	const size_t page = pageSize();
	const size_t rounded = (bytesize + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
	if (rounded < bytesize)
		return CUDA_ERROR_OUT_OF_MEMORY;

	pthread_mutex_lock(&lock);
	stats.allocCalls++;
	if (rounded > memoryBudget - memoryUsed) {
		pthread_mutex_unlock(&lock);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	memoryUsed += rounded;
	pthread_mutex_unlock(&lock);

	/* guard page, the pages that hold the rounded size, guard page */
	const size_t body = (rounded + page - 1) / page * page, mapped = body + 2 * page;
	char *mapping = mmap(NULL, mapped, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mapping == MAP_FAILED || mprotect(mapping + page, body, PROT_READ | PROT_WRITE) != 0) {
		if (mapping != MAP_FAILED)
			munmap(mapping, mapped);
		pthread_mutex_lock(&lock);
		memoryUsed -= rounded;
		pthread_mutex_unlock(&lock);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}

	struct allocation entry = {(uintptr_t)(mapping + page + body - rounded), mapping, mapped, rounded};
	pthread_mutex_lock(&lock);
	int inserted = tableInsert(entry);
	if (inserted) {
		stats.liveAllocations++;
		stats.bytesInUse = memoryUsed;
	} else
		memoryUsed -= rounded;
	pthread_mutex_unlock(&lock);
	if (!inserted) {
		munmap(mapping, mapped);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}

	*dptr = (CUdeviceptr)entry.address;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuMemAllocManaged(CUdeviceptr *dptr, size_t bytesize, unsigned flags)
{
	(void)flags;
	return cuMemAlloc(dptr, bytesize);
}

/* rows padded to 512 bytes, the device's texture pitch alignment */
EXPORT CUresult cuMemAllocPitch(CUdeviceptr *dptr, size_t *pitch, size_t widthBytes, size_t height, unsigned elementBytes)
{
	if (!pitch || !widthBytes || !height || (elementBytes != 4 && elementBytes != 8 && elementBytes != 16))
		return CUDA_ERROR_INVALID_VALUE;
	*pitch = (widthBytes + 511) / 512 * 512;
	return cuMemAlloc(dptr, *pitch * height);
}

EXPORT CUresult cuMemFree(CUdeviceptr dptr)
{
	READY();
	if (!dptr)
		return CUDA_SUCCESS;

	struct allocation entry;
	pthread_mutex_lock(&lock);
	int found = tableRemove((uintptr_t)dptr, &entry);
	if (found) {
		memoryUsed -= entry.size;
		stats.freeCalls++;
		stats.liveAllocations--;
		stats.bytesInUse = memoryUsed;
	}
	pthread_mutex_unlock(&lock);
	if (!found)
		return CUDA_ERROR_INVALID_VALUE;

	munmap(entry.mapping, entry.mapped);
	return CUDA_SUCCESS;
}

EXPORT CUresult cuMemGetInfo(size_t *freeBytes, size_t *totalBytes)
{
	READY();
	pthread_mutex_lock(&lock);
	if (freeBytes)
		*freeBytes = memoryBudget - memoryUsed;
	if (totalBytes)
		*totalBytes = memoryBudget;
	pthread_mutex_unlock(&lock);
	return CUDA_SUCCESS;
}

EXPORT CUresult cuMemGetAddressRange(CUdeviceptr *base, size_t *size, CUdeviceptr dptr)
{
	READY();
	pthread_mutex_lock(&lock);
	CUresult status = CUDA_ERROR_NOT_FOUND;
	for (size_t k = 0; k < tableCapacity; k++) {
		struct allocation *a = &table[k];
		if (a->address && a->address <= dptr && dptr < a->address + a->size) {
			if (base)
				*base = a->address;
			if (size)
				*size = a->size;
			status = CUDA_SUCCESS;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	return status;
}

EXPORT void emucuda_get_stats(struct emucuda_stats *out)
{
	pthread_mutex_lock(&lock);
	*out = stats;
	pthread_mutex_unlock(&lock);
}

/* Host "pinned" memory: plain host memory. */
EXPORT CUresult cuMemAllocHost(void **pp, size_t bytesize)
{
	READY();
	*pp = aligned_alloc(ALIGNMENT, (bytesize + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT);
	return *pp ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

EXPORT CUresult cuMemHostAlloc(void **pp, size_t bytesize, unsigned flags)
{
	(void)flags;
	return cuMemAllocHost(pp, bytesize);
}

EXPORT CUresult cuMemFreeHost(void *p)
{
	READY();
	free(p);
	return CUDA_SUCCESS;
}

EXPORT CUresult cuMemHostGetDevicePointer(CUdeviceptr *pdptr, void *p, unsigned flags)
{
	(void)flags;
	READY();
	*pdptr = (CUdeviceptr)p;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuMemHostGetFlags(unsigned *flags, void *p)
{
	(void)p;
	READY();
	*flags = 0;
	return CUDA_SUCCESS;
}

/* page-locking host memory: nothing to do when device memory is host memory */
EXPORT CUresult cuMemHostRegister(void *p, size_t bytesize, unsigned flags)
{
	(void)p; (void)bytesize; (void)flags;
	READY();
	return CUDA_SUCCESS;
}

EXPORT CUresult cuMemHostUnregister(void *p)
{
	(void)p;
	READY();
	return CUDA_SUCCESS;
}

/* Copies: device and host addresses are both host addresses. */
#define COPY(name, dstType, srcType, dstExpr, srcExpr) \
	EXPORT CUresult name(dstType dst, srcType src, size_t bytes) \
	{ READY(); if (bytes) memmove((void *)(dstExpr), (const void *)(srcExpr), bytes); return CUDA_SUCCESS; } \
	EXPORT CUresult name##Async(dstType dst, srcType src, size_t bytes, CUstream stream) \
	{ (void)stream; return name(dst, src, bytes); }

#undef cuMemcpyHtoDAsync
#undef cuMemcpyDtoHAsync
#undef cuMemcpyDtoDAsync
COPY(cuMemcpyHtoD_v2, CUdeviceptr, const void *, (uintptr_t)dst, src)
COPY(cuMemcpyDtoH_v2, void *, CUdeviceptr, dst, (uintptr_t)src)
COPY(cuMemcpyDtoD_v2, CUdeviceptr, CUdeviceptr, (uintptr_t)dst, (uintptr_t)src)
COPY(cuMemcpy, CUdeviceptr, CUdeviceptr, (uintptr_t)dst, (uintptr_t)src)

static CUresult copy3D(const CUDA_MEMCPY3D *c)
{
	READY();
	if (c->srcMemoryType == CU_MEMORYTYPE_ARRAY || c->dstMemoryType == CU_MEMORYTYPE_ARRAY)
		return CUDA_ERROR_NOT_SUPPORTED;

	const char *src = c->srcMemoryType == CU_MEMORYTYPE_HOST ? (const char *)c->srcHost : (const char *)(uintptr_t)c->srcDevice;
	char *dst = c->dstMemoryType == CU_MEMORYTYPE_HOST ? (char *)c->dstHost : (char *)(uintptr_t)c->dstDevice;
	const size_t srcHeight = c->srcHeight ? c->srcHeight : c->Height, dstHeight = c->dstHeight ? c->dstHeight : c->Height;
	const size_t depth = c->Depth ? c->Depth : 1;

	if (c->WidthInBytes > c->srcPitch && c->Height > 1)
		return CUDA_ERROR_INVALID_VALUE;

	src += c->srcXInBytes + c->srcY * c->srcPitch + c->srcZ * c->srcPitch * srcHeight;
	dst += c->dstXInBytes + c->dstY * c->dstPitch + c->dstZ * c->dstPitch * dstHeight;
	for (size_t z = 0; z < depth; z++)
		for (size_t y = 0; y < c->Height; y++)
			memmove(dst + z * c->dstPitch * dstHeight + y * c->dstPitch,
				src + z * c->srcPitch * srcHeight + y * c->srcPitch, c->WidthInBytes);
	return CUDA_SUCCESS;
}

static CUresult copy2D(const CUDA_MEMCPY2D *c)
{
	CUDA_MEMCPY3D full;
	memset(&full, 0, sizeof full);
	full.srcXInBytes = c->srcXInBytes; full.srcY = c->srcY;
	full.srcMemoryType = c->srcMemoryType; full.srcHost = c->srcHost; full.srcDevice = c->srcDevice;
	full.srcArray = c->srcArray; full.srcPitch = c->srcPitch;
	full.dstXInBytes = c->dstXInBytes; full.dstY = c->dstY;
	full.dstMemoryType = c->dstMemoryType; full.dstHost = c->dstHost; full.dstDevice = c->dstDevice;
	full.dstArray = c->dstArray; full.dstPitch = c->dstPitch;
	full.WidthInBytes = c->WidthInBytes; full.Height = c->Height; full.Depth = 1;
	return copy3D(&full);
}

#undef cuMemcpy2DAsync
#undef cuMemcpy3DAsync
EXPORT CUresult cuMemcpy2D_v2(const CUDA_MEMCPY2D *c) { return copy2D(c); }
EXPORT CUresult cuMemcpy2DUnaligned_v2(const CUDA_MEMCPY2D *c) { return copy2D(c); }
EXPORT CUresult cuMemcpy2DAsync_v2(const CUDA_MEMCPY2D *c, CUstream s) { (void)s; return copy2D(c); }
EXPORT CUresult cuMemcpy3D_v2(const CUDA_MEMCPY3D *c) { return copy3D(c); }
EXPORT CUresult cuMemcpy3DAsync_v2(const CUDA_MEMCPY3D *c, CUstream s) { (void)s; return copy3D(c); }

#define MEMSET(name, type) \
	EXPORT CUresult name##_v2(CUdeviceptr dst, type value, size_t count) \
	{ \
		READY(); \
		type *p = (type *)(uintptr_t)dst; \
		if ((uintptr_t)p % sizeof(type)) \
			return CUDA_ERROR_INVALID_VALUE; \
		for (size_t k = 0; k < count; k++) \
			p[k] = value; \
		return CUDA_SUCCESS; \
	} \
	EXPORT CUresult name##Async(CUdeviceptr dst, type value, size_t count, CUstream s) \
	{ (void)s; return name##_v2(dst, value, count); }

#undef cuMemsetD8Async
#undef cuMemsetD16Async
#undef cuMemsetD32Async
MEMSET(cuMemsetD8, unsigned char)
MEMSET(cuMemsetD16, unsigned short)
MEMSET(cuMemsetD32, unsigned int)

/* }}} */


/* {{{ streams and events: synchronous */

struct CUstream_st { unsigned flags; int priority; };
struct CUevent_st { unsigned flags; int recorded; struct timespec when; };

EXPORT CUresult cuStreamCreate(CUstream *stream, unsigned flags)
{
	READY();
	*stream = calloc(1, sizeof **stream);
	if (!*stream)
		return CUDA_ERROR_OUT_OF_MEMORY;
	(*stream)->flags = flags;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamCreateWithPriority(CUstream *stream, unsigned flags, int priority)
{
	CUresult status = cuStreamCreate(stream, flags);
	if (status == CUDA_SUCCESS)
		(*stream)->priority = priority;
	return status;
}

EXPORT CUresult cuStreamDestroy(CUstream stream)
{
	READY();
	free(stream);
	return CUDA_SUCCESS;
}

#undef cuStreamSynchronize
#undef cuStreamQuery
#undef cuStreamWaitEvent
EXPORT CUresult cuStreamSynchronize(CUstream stream) { (void)stream; READY(); return CUDA_SUCCESS; }
EXPORT CUresult cuStreamQuery(CUstream stream) { (void)stream; READY(); return CUDA_SUCCESS; }
EXPORT CUresult cuStreamWaitEvent(CUstream stream, CUevent event, unsigned flags)
{
	(void)stream; (void)event; (void)flags;
	READY();
	return CUDA_SUCCESS;
}

EXPORT CUresult cuEventCreate(CUevent *event, unsigned flags)
{
	READY();
	*event = calloc(1, sizeof **event);
	if (!*event)
		return CUDA_ERROR_OUT_OF_MEMORY;
	(*event)->flags = flags;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuEventDestroy(CUevent event)
{
	READY();
	free(event);
	return CUDA_SUCCESS;
}

#undef cuEventRecord
EXPORT CUresult cuEventRecord(CUevent event, CUstream stream)
{
	(void)stream;
	READY();
	if (!event)
		return CUDA_ERROR_INVALID_HANDLE;
	clock_gettime(CLOCK_MONOTONIC, &event->when);
	event->recorded = 1;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuEventQuery(CUevent event) { (void)event; READY(); return CUDA_SUCCESS; }
EXPORT CUresult cuEventSynchronize(CUevent event) { (void)event; READY(); return CUDA_SUCCESS; }

EXPORT CUresult cuEventElapsedTime(float *ms, CUevent start, CUevent end)
{
	READY();
	if (!start || !end)
		return CUDA_ERROR_INVALID_HANDLE;
	if (!start->recorded || !end->recorded)
		return CUDA_ERROR_INVALID_HANDLE;
	*ms = (float)((end->when.tv_sec - start->when.tv_sec) * 1e3 + (end->when.tv_nsec - start->when.tv_nsec) * 1e-6);
	return CUDA_SUCCESS;
}

/* }}} */


/* {{{ modules, functions, launches */

struct CUmod_st { void *handle; };
struct CUfunc_st {
	const struct emucuda_kernel *kernel;
	CUmodule module;
	int maxDynamicShared;
	/* the legacy launch API's state: pycuda sets the block shape this way before each launch */
	unsigned block[3], sharedBytes, paramSize;
	unsigned char params[4096];
};

EXPORT CUresult cuModuleLoadData(CUmodule *module, const void *image)
{
	READY();
	if (!module || !image)
		return CUDA_ERROR_INVALID_VALUE;

	const struct emucuda_image_header *header = image;
	if (memcmp(header->magic, EMUCUDA_MAGIC, sizeof header->magic) != 0)
		return CUDA_ERROR_INVALID_IMAGE;       /* a real cubin or PTX: not for this driver */

	/* dlopen needs a file: a unique name, removed once loaded */
	const char *tmp = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof path, "%s/emucuda-module-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		return CUDA_ERROR_OPERATING_SYSTEM;
	const char *bytes = (const char *)image + sizeof *header;
	size_t left = header->size;
	while (left) {
		ssize_t written = write(fd, bytes, left);
		if (written <= 0) {
			close(fd);
			unlink(path);
			return CUDA_ERROR_OPERATING_SYSTEM;
		}
		bytes += written;
		left -= (size_t)written;
	}
	close(fd);

	void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	unlink(path);
	if (!handle) {
		fprintf(stderr, "emucuda: cannot load a module: %s\n", dlerror());
		return CUDA_ERROR_INVALID_IMAGE;
	}

	*module = calloc(1, sizeof **module);
	(*module)->handle = handle;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleLoad(CUmodule *module, const char *path)
{
	READY();
	FILE *f = fopen(path, "rb");
	if (!f)
		return CUDA_ERROR_FILE_NOT_FOUND;
	char *image = NULL;
	size_t size = 0, capacity = 0, got;
	do {
		if (size == capacity) {
			capacity = capacity ? 2 * capacity : 1 << 20;
			char *grown = realloc(image, capacity);
			if (!grown) {
				free(image);
				fclose(f);
				return CUDA_ERROR_OUT_OF_MEMORY;
			}
			image = grown;
		}
		got = fread(image + size, 1, capacity - size, f);
		size += got;
	} while (got);
	fclose(f);
	CUresult status = size < sizeof(struct emucuda_image_header) ? CUDA_ERROR_INVALID_IMAGE : cuModuleLoadData(module, image);
	free(image);
	return status;
}

EXPORT CUresult cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned numOptions, CUjit_option *options, void **values)
{
	(void)numOptions; (void)options; (void)values;
	return cuModuleLoadData(module, image);
}

EXPORT CUresult cuModuleLoadFatBinary(CUmodule *module, const void *image)
{
	return cuModuleLoadData(module, image);
}

EXPORT CUresult cuModuleUnload(CUmodule module)
{
	READY();
	if (!module)
		return CUDA_ERROR_INVALID_HANDLE;
	dlclose(module->handle);
	free(module);
	return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleGetFunction(CUfunction *function, CUmodule module, const char *name)
{
	READY();
	if (!function || !module || !name)
		return CUDA_ERROR_INVALID_VALUE;

	char symbol[1024];
	snprintf(symbol, sizeof symbol, "%s%s", EMUCUDA_KERNEL_PREFIX, name);
	const struct emucuda_kernel *kernel = dlsym(module->handle, symbol);
	if (!kernel)
		return CUDA_ERROR_NOT_FOUND;

	*function = calloc(1, sizeof **function);
	(*function)->kernel = kernel;
	(*function)->module = module;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleGetGlobal(CUdeviceptr *dptr, size_t *bytes, CUmodule module, const char *name)
{
	READY();
	char symbol[1024];
	snprintf(symbol, sizeof symbol, "%s%s", EMUCUDA_GLOBAL_PREFIX, name);
	const struct emucuda_global *global = dlsym(module->handle, symbol);
	if (!global)
		return CUDA_ERROR_NOT_FOUND;
	if (dptr)
		*dptr = (CUdeviceptr)(uintptr_t)global->address;
	if (bytes)
		*bytes = global->size;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuFuncGetAttribute(int *value, CUfunction_attribute attribute, CUfunction function)
{
	READY();
	if (!value || !function)
		return CUDA_ERROR_INVALID_VALUE;
	switch (attribute) {
	case CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *value = 1024; break;
	case CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES: *value = 0; break;
	case CU_FUNC_ATTRIBUTE_CONST_SIZE_BYTES: *value = 0; break;
	case CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES: *value = 0; break;
	case CU_FUNC_ATTRIBUTE_NUM_REGS: *value = 32; break;
	case CU_FUNC_ATTRIBUTE_PTX_VERSION: *value = 90; break;
	case CU_FUNC_ATTRIBUTE_BINARY_VERSION: *value = 90; break;
	case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES: *value = function->maxDynamicShared ? function->maxDynamicShared : 49152; break;
	default: return CUDA_ERROR_INVALID_VALUE;
	}
	return CUDA_SUCCESS;
}

EXPORT CUresult cuFuncSetAttribute(CUfunction function, CUfunction_attribute attribute, int value)
{
	READY();
	if (!function)
		return CUDA_ERROR_INVALID_HANDLE;
	if (attribute == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES) {
		if (value < 0 || value > 232448)
			return CUDA_ERROR_INVALID_VALUE;
		function->maxDynamicShared = value;
	}
	return CUDA_SUCCESS;
}

EXPORT CUresult cuFuncSetCacheConfig(CUfunction function, CUfunc_cache config)
{
	(void)function; (void)config;
	READY();
	return CUDA_SUCCESS;
}

/* A kernel's fault (an out-of-bounds access reaching a guard page) ends its launch. */
static __thread sigjmp_buf *faultJump;

static void onFault(int signal, siginfo_t *info, void *context)
{
	(void)signal; (void)info; (void)context;
	if (faultJump)
		siglongjmp(*faultJump, 1);
	abort();
}

static pthread_mutex_t launchLock = PTHREAD_MUTEX_INITIALIZER;

#undef cuLaunchKernel
EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
	unsigned sharedBytes, CUstream stream, void **kernelParams, void **extra)
{
	(void)stream;
	READY();
	if (!f)
		return CUDA_ERROR_INVALID_HANDLE;

	/* what a compute capability 9.0 GPU refuses */
	if (!gx || !gy || !gz || !bx || !by || !bz)
		return CUDA_ERROR_INVALID_VALUE;
	if (gx > 2147483647u || gy > 65535 || gz > 65535)
		return CUDA_ERROR_INVALID_VALUE;
	if (bx > 1024 || by > 1024 || bz > 64 || (unsigned long long)bx * by * bz > 1024)
		return CUDA_ERROR_INVALID_VALUE;
	if (sharedBytes > (unsigned)(f->maxDynamicShared ? f->maxDynamicShared : 49152))
		return CUDA_ERROR_INVALID_VALUE;

	struct emucuda_launch launch = {{gx, gy, gz}, {bx, by, bz}, sharedBytes, kernelParams, NULL, 0};
	if (kernelParams && extra)
		return CUDA_ERROR_INVALID_VALUE;
	if (extra) {
		void *buffer = NULL, *size = NULL;
		for (int k = 0; extra[k] != CU_LAUNCH_PARAM_END; k += 2) {
			if (extra[k] == CU_LAUNCH_PARAM_BUFFER_POINTER)
				buffer = extra[k + 1];
			else if (extra[k] == CU_LAUNCH_PARAM_BUFFER_SIZE)
				size = extra[k + 1];
			else
				return CUDA_ERROR_INVALID_VALUE;
		}
		if (!buffer || !size)
			return CUDA_ERROR_INVALID_VALUE;
		launch.buffer = buffer;
		launch.bufferSize = *(size_t *)size;
	}
	if (f->kernel->paramsSize && !launch.params && !launch.buffer)
		return CUDA_ERROR_INVALID_VALUE;
	if (launch.buffer && launch.bufferSize < f->kernel->paramsSize)
		return CUDA_ERROR_INVALID_VALUE;

	pthread_mutex_lock(&launchLock);
	pthread_mutex_lock(&lock);
	stats.launches++;
	pthread_mutex_unlock(&lock);

	struct sigaction fault, oldSegv, oldBus;
	memset(&fault, 0, sizeof fault);
	fault.sa_sigaction = onFault;
	fault.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&fault.sa_mask);
	sigaction(SIGSEGV, &fault, &oldSegv);
	sigaction(SIGBUS, &fault, &oldBus);

	sigjmp_buf jump;
	int faulted = 0;
	if (sigsetjmp(jump, 1) == 0) {
		faultJump = &jump;
		f->kernel->launch(&launch);
	} else
		faulted = 1;
	faultJump = NULL;

	sigaction(SIGSEGV, &oldSegv, NULL);
	sigaction(SIGBUS, &oldBus, NULL);
	pthread_mutex_unlock(&launchLock);

	if (faulted) {
		/* as a GPU: the launch itself succeeded, the context is lost */
		current()->sticky = CUDA_ERROR_ILLEGAL_ADDRESS;
		pthread_mutex_lock(&lock);
		stats.faults++;
		pthread_mutex_unlock(&lock);
	}
	return CUDA_SUCCESS;
}

EXPORT CUresult cuProfilerStart(void) { return CUDA_SUCCESS; }
EXPORT CUresult cuProfilerStop(void) { return CUDA_SUCCESS; }

/* {{{ the legacy launch API (cuFuncSetBlockShape, cuParamSet*, cuLaunchGrid) */

EXPORT CUresult cuFuncSetBlockShape(CUfunction f, int x, int y, int z)
{
	READY();
	if (!f)
		return CUDA_ERROR_INVALID_HANDLE;
	f->block[0] = (unsigned)x;
	f->block[1] = (unsigned)y;
	f->block[2] = (unsigned)z;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuFuncSetSharedSize(CUfunction f, unsigned bytes)
{
	READY();
	if (!f)
		return CUDA_ERROR_INVALID_HANDLE;
	f->sharedBytes = bytes;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuParamSetSize(CUfunction f, unsigned bytes)
{
	READY();
	if (!f)
		return CUDA_ERROR_INVALID_HANDLE;
	if (bytes > sizeof f->params)
		return CUDA_ERROR_INVALID_VALUE;
	f->paramSize = bytes;
	return CUDA_SUCCESS;
}

EXPORT CUresult cuParamSetv(CUfunction f, int offset, void *data, unsigned bytes)
{
	READY();
	if (!f)
		return CUDA_ERROR_INVALID_HANDLE;
	if (offset < 0 || (size_t)offset + bytes > sizeof f->params)
		return CUDA_ERROR_INVALID_VALUE;
	memcpy(f->params + offset, data, bytes);
	return CUDA_SUCCESS;
}

EXPORT CUresult cuParamSeti(CUfunction f, int offset, unsigned value) { return cuParamSetv(f, offset, &value, sizeof value); }
EXPORT CUresult cuParamSetf(CUfunction f, int offset, float value) { return cuParamSetv(f, offset, &value, sizeof value); }

EXPORT CUresult cuLaunchGridAsync(CUfunction f, int gridWidth, int gridHeight, CUstream stream)
{
	READY();
	if (!f)
		return CUDA_ERROR_INVALID_HANDLE;
	size_t size = f->paramSize;
	void *extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, f->params, CU_LAUNCH_PARAM_BUFFER_SIZE, &size, CU_LAUNCH_PARAM_END};
	return cuLaunchKernel(f, (unsigned)gridWidth, (unsigned)gridHeight, 1, f->block[0], f->block[1], f->block[2],
		f->sharedBytes, stream, NULL, extra);
}

EXPORT CUresult cuLaunchGrid(CUfunction f, int gridWidth, int gridHeight) { return cuLaunchGridAsync(f, gridWidth, gridHeight, NULL); }
EXPORT CUresult cuLaunch(CUfunction f) { return cuLaunchGridAsync(f, 1, 1, NULL); }

/* }}} */

/* vim: set foldmethod=marker: */
