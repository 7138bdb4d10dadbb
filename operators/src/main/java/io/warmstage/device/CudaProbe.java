package io.warmstage.device;

import jcuda.CudaException;
import jcuda.driver.JCudaDriver;

/**
 * Loads the JCuda driver API and asks for the GPU count. Kept apart from {@link Devices} so that a
 * missing JCuda class fails here, inside the caller's {@code catch (LinkageError)}.
 */
final class CudaProbe {
    private CudaProbe() {}

    /**
     * Calls {@code cuInit(0)} and {@code cuDeviceGetCount}.
     *
     * @throws LinkageError when the JCuda natives or the driver library cannot be loaded ({@code
     *     UnsatisfiedLinkError} the first time, {@code NoClassDefFoundError} after)
     */
    static CudaAvailability probe() {
        try {
            JCudaDriver.setExceptionsEnabled(true);
            JCudaDriver.cuInit(0);
            int[] count = new int[1];
            JCudaDriver.cuDeviceGetCount(count);
            return CudaAvailability.of(count[0]);
        } catch (CudaException e) {
            return CudaAvailability.unavailable(
                    "the CUDA driver failed to initialize: " + Devices.oneLine(e));
        }
    }
}
