package io.warmstage.device;

/** A device that cannot be opened, an allocation that does not fit, or a failed copy. */
public class DeviceException extends Exception {
    private static final long serialVersionUID = 1L;

    public DeviceException(String message) {
        super(message);
    }

    public DeviceException(String message, Throwable cause) {
        super(message, cause);
    }
}
