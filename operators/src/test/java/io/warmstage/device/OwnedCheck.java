package io.warmstage.device;

import java.nio.file.Path;

/** A second process's view: prints whether {@link HostDevice#owned} holds for a directory. */
public final class OwnedCheck {
    private OwnedCheck() {}

    public static void main(String[] args) {
        System.out.println(HostDevice.owned(Path.of(args[0])));
    }
}
