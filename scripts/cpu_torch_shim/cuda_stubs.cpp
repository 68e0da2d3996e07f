// Stand-ins for the two CUDA libraries of torch that a CUDA-built torchvision links against,
// so that torchvision 0.28.0 from the package index loads beside the CPU-only torch 2.13.0+cpu.
//
// torchvision's _C.so and image.so carry CUDA kernels besides the CPU ones and name
// libc10_cuda.so and libtorch_cuda.so as dependencies (17 symbols, listed below). A CPU torch has
// neither library, so `import torchvision` fails ("operator torchvision::nms does not exist").
// Nothing here is ever called: the CUDA kernels are only dispatched for CUDA tensors, which a CPU
// torch cannot create. Should one be called anyway, it prints its name and aborts the process,
// rather than returning garbage.
//
// Built twice by scripts/cpu_torch_shim/build_shim.sh (the mangled names do not depend on the return
// types, so those are simplified; parameter types are exact):
//   gcc -x c++ -shared -fPIC -O2 -DSHIM_C10_CUDA   -Wl,-soname,libc10_cuda.so   -o libc10_cuda.so   cuda_stubs.cpp
//   gcc -x c++ -shared -fPIC -O2 -DSHIM_TORCH_CUDA -Wl,-soname,libtorch_cuda.so -o libtorch_cuda.so cuda_stubs.cpp
// tests/test_packaging.py compiles both and checks with `nm -D` that every symbol is exported.
// Not needed at all with torchvision from PyTorch's own CPU wheel index (see README, "Standalone app").

extern "C" {
void abort(void);
int dprintf(int fd, const char *format, ...);
}

#define MEDDIAG_STUB(name)                                                                         \
    {                                                                                              \
        dprintf(2, "meddiag cpu_torch_shim: CUDA function %s called in a CPU-only build\n", name); \
        abort();                                                                                   \
    }
#define STUB_API __attribute__((visibility("default"), noreturn))

#ifdef SHIM_C10_CUDA
// libc10_cuda.so: 15 functions and one variable.
namespace c10 {
namespace cuda {
class CUDAStream {
public:
    void synchronize() const;
    bool query() const;
    void *stream() const;
};
// Defined out of line: members defined inside the class would be inline and not exported.
STUB_API void CUDAStream::synchronize() const MEDDIAG_STUB("c10::cuda::CUDAStream::synchronize")
STUB_API bool CUDAStream::query() const MEDDIAG_STUB("c10::cuda::CUDAStream::query")
STUB_API void *CUDAStream::stream() const MEDDIAG_STUB("c10::cuda::CUDAStream::stream")

STUB_API signed char device_count() MEDDIAG_STUB("c10::cuda::device_count")
STUB_API signed char current_device() MEDDIAG_STUB("c10::cuda::current_device")
STUB_API signed char ExchangeDevice(signed char) MEDDIAG_STUB("c10::cuda::ExchangeDevice")
STUB_API signed char MaybeSetDevice(signed char) MEDDIAG_STUB("c10::cuda::MaybeSetDevice")
STUB_API int GetDevice(signed char *) MEDDIAG_STUB("c10::cuda::GetDevice")
STUB_API int SetDevice(signed char, bool) MEDDIAG_STUB("c10::cuda::SetDevice")
STUB_API CUDAStream getStreamFromPool(bool, signed char) MEDDIAG_STUB("c10::cuda::getStreamFromPool(bool)")
STUB_API CUDAStream getStreamFromPool(int, signed char) MEDDIAG_STUB("c10::cuda::getStreamFromPool(int)")
STUB_API CUDAStream getCurrentCUDAStream(signed char) MEDDIAG_STUB("c10::cuda::getCurrentCUDAStream")
STUB_API CUDAStream getDefaultCUDAStream(signed char) MEDDIAG_STUB("c10::cuda::getDefaultCUDAStream")
STUB_API void setCurrentCUDAStream(CUDAStream) MEDDIAG_STUB("c10::cuda::setCurrentCUDAStream")
STUB_API void c10_cuda_check_implementation(int, const char *, const char *, unsigned int, bool)
    MEDDIAG_STUB("c10::cuda::c10_cuda_check_implementation")
namespace CUDACachingAllocator {
// std::atomic<CUDAAllocator*> in torch; read only on the CUDA code paths. Null: never an allocator.
__attribute__((visibility("default"))) void *allocator = nullptr;
}  // namespace CUDACachingAllocator
}  // namespace cuda
}  // namespace c10
#endif

#ifdef SHIM_TORCH_CUDA
// libtorch_cuda.so: one function.
namespace at {
namespace cuda {
STUB_API void *getCurrentDeviceProperties() MEDDIAG_STUB("at::cuda::getCurrentDeviceProperties")
}  // namespace cuda
}  // namespace at
#endif
