package io.warmstage.device;

/** A device that can close itself once its last buffer is freed (keep-resident staging). */
interface Releasable {
    /** Closes the device once its last open buffer is freed; now, if none is open. */
    void closeWhenReleased();
}
