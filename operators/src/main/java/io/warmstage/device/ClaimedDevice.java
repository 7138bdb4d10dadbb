package io.warmstage.device;

/**
 * A device opened for a staging slot together with its {@link GpuClaims.Claim}: closing the device
 * releases the claim, so another slot (or this slot after a restart) can take the GPU.
 */
final class ClaimedDevice implements Device {
    private final Device device;
    private final GpuClaims.Claim claim;

    ClaimedDevice(Device device, GpuClaims.Claim claim) {
        this.device = device;
        this.claim = claim;
    }

    @Override
    public String name() {
        return device.name();
    }

    @Override
    public DeviceBuffer allocate(long bytes) throws DeviceException {
        return device.allocate(bytes);
    }

    @Override
    public java.util.Optional<String> gpuUuid() {
        return device.gpuUuid();
    }

    /**
     * Releases the claim but keeps the device and its buffers open (keep-resident staging); a
     * device that can close itself once its last buffer is freed is told to.
     */
    void releaseClaim() {
        try {
            if (device instanceof Releasable r) {
                r.closeWhenReleased();
            }
        } finally {
            claim.close();
        }
    }

    /** Closes the device, then releases the claim. */
    @Override
    public void close() {
        try {
            device.close();
        } finally {
            claim.close();
        }
    }
}
