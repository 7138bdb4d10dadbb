package io.warmstage.device;

/**
 * A device error that poisons the device's context (CUDA's sticky errors, such as {@code
 * CUDA_ERROR_ILLEGAL_ADDRESS}): every later call on the device fails the same way, so it fails the
 * staging task instead of one file, and the task restarts with a fresh device.
 */
public class DeviceLostException extends DeviceException {
    private static final long serialVersionUID = 1L;

    public DeviceLostException(String message) {
        super(message);
    }

    public DeviceLostException(String message, Throwable cause) {
        super(message, cause);
    }
}
