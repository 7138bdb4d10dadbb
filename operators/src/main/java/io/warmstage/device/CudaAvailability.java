package io.warmstage.device;

/**
 * Whether this host can open {@code cuda} devices, as probed once by {@link
 * Devices#cudaAvailability()}.
 *
 * @param available true when the CUDA driver loaded and reports at least one GPU
 * @param deviceCount GPUs the driver reports; 0 when unavailable
 * @param reason one line saying why CUDA is unavailable; null when available
 */
public record CudaAvailability(boolean available, int deviceCount, String reason) {

    static CudaAvailability of(int deviceCount) {
        return deviceCount > 0
                ? new CudaAvailability(true, deviceCount, null)
                : unavailable("the CUDA driver reports no GPU on this host");
    }

    static CudaAvailability unavailable(String reason) {
        return new CudaAvailability(false, 0, reason);
    }
}
