package io.warmstage.device;

import java.util.Set;

/**
 * Turns a CUDA Driver API failure into a {@link DeviceException}, or a {@link DeviceLostException}
 * for the sticky errors: those the CUDA Driver API reference says leave the context unusable, so
 * that every later call returns the same error.
 */
final class CudaErrors {
    /** {@code CUresult} names of the sticky errors (CUDA 12 Driver API, "Error Handling"). */
    static final Set<String> STICKY =
            Set.of(
                    "CUDA_ERROR_ILLEGAL_ADDRESS",
                    "CUDA_ERROR_LAUNCH_TIMEOUT",
                    "CUDA_ERROR_HARDWARE_STACK_ERROR",
                    "CUDA_ERROR_ILLEGAL_INSTRUCTION",
                    "CUDA_ERROR_MISALIGNED_ADDRESS",
                    "CUDA_ERROR_INVALID_ADDRESS_SPACE",
                    "CUDA_ERROR_INVALID_PC",
                    "CUDA_ERROR_LAUNCH_FAILED",
                    "CUDA_ERROR_ASSERT",
                    "CUDA_ERROR_ECC_UNCORRECTABLE",
                    "CUDA_ERROR_CONTEXT_IS_DESTROYED",
                    "CUDA_ERROR_DEVICE_UNAVAILABLE",
                    "CUDA_ERROR_NVLINK_UNCORRECTABLE",
                    "CUDA_ERROR_EXTERNAL_DEVICE");

    private CudaErrors() {}

    /**
     * The exception for a failed driver call.
     *
     * @param what the device and the call, e.g. {@code cuda:0: cuMemcpyHtoDAsync}
     * @param error the driver's error as JCuda reports it: the {@code CUresult} name first, e.g.
     *     {@code CUDA_ERROR_ILLEGAL_ADDRESS}
     * @param cause the original exception
     * @return a {@link DeviceLostException} for a sticky error, else a {@link DeviceException}
     */
    static DeviceException of(String what, String error, Throwable cause) {
        String message = what + " failed: " + error;
        return isSticky(error)
                ? new DeviceLostException(
                        message
                                + " (a sticky error: the GPU context is unusable; the task must"
                                + " restart with a fresh one)",
                        cause)
                : new DeviceException(message, cause);
    }

    /** Whether {@code error} (a JCuda message) names a sticky {@code CUresult}. */
    static boolean isSticky(String error) {
        if (error == null) {
            return false;
        }
        String s = error.strip();
        int end = 0;
        while (end < s.length() && (Character.isUpperCase(s.charAt(end)) || s.charAt(end) == '_')) {
            end++;
        }
        return STICKY.contains(s.substring(0, end));
    }
}
