package io.warmstage.cache;

import java.nio.file.Path;

/** A second process's cleanup: deletes dead writers' temp files of a cache and prints how many. */
public final class DeadTempsCheck {
    private DeadTempsCheck() {}

    public static void main(String[] args) throws Exception {
        System.out.println(new CacheDirectory(Path.of(args[0])).deleteDeadTemps());
    }
}
