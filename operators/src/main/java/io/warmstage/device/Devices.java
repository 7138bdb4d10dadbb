package io.warmstage.device;

/**
 * Opens devices by the names users write: {@code cpu}, {@code cuda}, {@code cuda:N} or {@code
 * auto}. CUDA is probed once per JVM (see DESIGN.md: JCuda without a driver fails in a static
 * initializer, so the probe catches {@link LinkageError} and caches the answer).
 */
public final class Devices {
    private static volatile CudaAvailability cuda;

    private Devices() {}

    /**
     * Opens the device named by {@code spec} for staging slot {@code slotIndex}.
     *
     * <ul>
     *   <li>{@code cpu}: a {@link HostDevice};
     *   <li>{@code cuda}: GPU {@code slotIndex % deviceCount};
     *   <li>{@code cuda:N}: GPU N;
     *   <li>{@code auto}: {@code cuda} when {@link #cudaAvailability()} says available, else cpu.
     * </ul>
     *
     * @param slotIndex the staging slot (subtask index), 0 or more
     * @throws IllegalArgumentException if {@code spec} is none of the above
     * @throws DeviceException if CUDA was asked for and is unavailable (one line saying why), N is
     *     not a GPU of this host, or the GPU cannot be opened
     */
    public static Device open(String spec, int slotIndex) throws DeviceException {
        if (slotIndex < 0) {
            throw new IllegalArgumentException("negative slot index " + slotIndex);
        }
        String s = spec == null ? "" : spec.trim();
        if (s.equals("cpu")) {
            return new HostDevice();
        }
        if (s.equals("auto")) {
            return cudaAvailability().available() ? openCuda(-1, slotIndex) : new HostDevice();
        }
        if (s.equals("cuda")) {
            return openCuda(-1, slotIndex);
        }
        if (s.startsWith("cuda:")) {
            return openCuda(parseOrdinal(s), slotIndex);
        }
        throw new IllegalArgumentException(
                "unknown device '" + spec + "': expected cpu, cuda, cuda:N or auto");
    }

    /**
     * Opens the device named by {@code spec} for one staging slot, choosing and claiming its GPU by
     * {@link SlotGpu}'s rules (external resources, then {@link GpuOptions#GPU_ORDINALS}, then
     * subtask % GPU count). Call it from {@code open()} of the staging function:
     *
     * <pre>{@code
     * SlotGpu slotGpu = SlotGpu.forSlot(
     *         getRuntimeContext().getExternalResourceInfos("gpu"), subtask, config);
     * device = Devices.openForSlot(config.get(StagingOptions.DEVICE), slotGpu);
     * }</pre>
     *
     * <p>{@code cpu} opens a {@link HostDevice} and claims nothing; {@code auto} is {@code cuda}
     * when available, else cpu; {@code cuda:N} claims GPU N. Closing the device releases its claim;
     * {@link #releaseClaim} releases it without closing (keep-resident staging).
     *
     * @throws IllegalArgumentException if {@code spec} is not cpu, cuda, cuda:N or auto
     * @throws DeviceException if CUDA was asked for and is unavailable (one line saying why), the
     *     chosen ordinal is not a GPU of this host, another slot of this JVM holds the GPU and
     *     sharing is off, or the GPU cannot be opened
     */
    public static Device openForSlot(String spec, SlotGpu slot) throws DeviceException {
        return openForSlot(spec, () -> slot);
    }

    /** Chooses a slot's GPU; asked only when a GPU is to be opened. */
    @FunctionalInterface
    public interface SlotGpuSource {
        SlotGpu get() throws DeviceException;
    }

    /**
     * As {@link #openForSlot(String, SlotGpu)}, but the slot's GPU choice (and so its GPU settings)
     * is only built when the device is a GPU: a {@code cpu} slot never reads them.
     */
    public static Device openForSlot(String spec, SlotGpuSource slot) throws DeviceException {
        return openForSlot(
                spec,
                slot,
                cudaAvailability(),
                GpuClaims.JVM,
                n -> new CudaDevice(n, CudaDevice.DEFAULT_SLOTS, CudaDevice.DEFAULT_SLOT_BYTES));
    }

    /** As {@link #openForSlot(String, SlotGpu)} with the probe, registry and opener given. */
    static Device openForSlot(
            String spec, SlotGpu slot, CudaAvailability cuda, GpuClaims claims, CudaOpener opener)
            throws DeviceException {
        return openForSlot(spec, () -> slot, cuda, claims, opener);
    }

    private static Device openForSlot(
            String spec,
            SlotGpuSource source,
            CudaAvailability cuda,
            GpuClaims claims,
            CudaOpener opener)
            throws DeviceException {
        String s = spec == null ? "" : spec.trim();
        if (s.equals("cpu") || (s.equals("auto") && !cuda.available())) {
            return new HostDevice();
        }
        if (!s.equals("auto") && !s.equals("cuda") && !s.startsWith("cuda:")) {
            throw new IllegalArgumentException(
                    "unknown device '" + spec + "': expected cpu, cuda, cuda:N or auto");
        }
        int explicit = s.startsWith("cuda:") ? parseOrdinal(s) : -1;
        if (!cuda.available()) {
            throw new DeviceException("cannot open cuda: " + cuda.reason());
        }
        SlotGpu slot = source.get();
        GpuClaims.Claim claim =
                explicit < 0
                        ? claims.claim(slot, cuda.deviceCount())
                        : claims.claim(explicit, slot.subtask(), slot.shared(), cuda.deviceCount());
        try {
            return new ClaimedDevice(opener.open(claim.ordinal()), claim);
        } catch (DeviceException | RuntimeException | LinkageError e) {
            claim.close();
            throw e;
        }
    }

    /**
     * Releases the GPU claim of a device from {@link #openForSlot} without closing it, for a slot
     * that keeps its tensors resident after the job; no-op for other devices. A GPU device closes
     * itself (pinned ring, stream, events, context) once its last resident buffer is freed, or now
     * if none is open, so that no run or failover leaves a device behind.
     */
    public static void releaseClaim(Device device) {
        if (device instanceof ClaimedDevice c) {
            c.releaseClaim();
        } else if (device instanceof Releasable r) {
            r.closeWhenReleased();
        }
    }

    /** Whether CUDA is usable here; probed on the first call, then cached for the JVM. */
    public static CudaAvailability cudaAvailability() {
        CudaAvailability c = cuda;
        if (c == null) {
            synchronized (Devices.class) {
                if (cuda == null) {
                    cuda = probe();
                }
                c = cuda;
            }
        }
        return c;
    }

    /**
     * The throwable's simple class name and the first line of its message (JCuda's link errors
     * carry whole nested stack traces in theirs).
     */
    static String oneLine(Throwable t) {
        String m = t.getMessage() == null ? "" : t.getMessage().strip();
        int eol = m.indexOf('\n');
        String first = (eol < 0 ? m : m.substring(0, eol)).strip();
        return t.getClass().getSimpleName() + (first.isEmpty() ? "" : ": " + first);
    }

    private static CudaAvailability probe() {
        try {
            JCudaNatives.ensureDriverLibrary(); // a truncated copy left by a killed run is replaced
            return CudaProbe.probe();
        } catch (LinkageError e) {
            return CudaAvailability.unavailable(
                    "no CUDA driver on this host (JCuda natives not loadable: " + oneLine(e) + ")");
        }
    }

    private static Device openCuda(int ordinal, int slotIndex) throws DeviceException {
        CudaAvailability c = cudaAvailability();
        if (!c.available()) {
            throw new DeviceException("cannot open cuda: " + c.reason());
        }
        int n = ordinal < 0 ? slotIndex % c.deviceCount() : ordinal;
        if (n >= c.deviceCount()) {
            throw new DeviceException(
                    "cannot open cuda:" + n + ": this host has " + c.deviceCount() + " GPU(s)");
        }
        return new CudaDevice(n, CudaDevice.DEFAULT_SLOTS, CudaDevice.DEFAULT_SLOT_BYTES);
    }

    /** Opens GPU {@code ordinal} ({@link CudaDevice} on a real host). */
    @FunctionalInterface
    interface CudaOpener {
        Device open(int ordinal) throws DeviceException;
    }

    private static int parseOrdinal(String spec) {
        try {
            int n = Integer.parseInt(spec.substring("cuda:".length()));
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // Reported below.
        }
        throw new IllegalArgumentException(
                "bad device '" + spec + "': expected cuda:N with N a GPU ordinal, 0 or more");
    }
}
