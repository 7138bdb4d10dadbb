package io.warmstage.device;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * Makes sure the JCuda native library that JCuda extracts to {@code java.io.tmpdir} is whole before
 * JCuda loads it. JCuda 12.0.0 writes {@code libJCudaDriver-<version>-<os>-<arch>.so} there once
 * and reuses any file of that name afterwards, so a copy truncated by a killed process fails every
 * later start. This compares the file with the library in the natives jar (size, then SHA-256) and
 * replaces it atomically when it differs. Does nothing when no natives jar is on the class path.
 */
final class JCudaNatives {
    private JCudaNatives() {}

    /**
     * Checks the driver library's extracted copy in {@code java.io.tmpdir}, before the first use of
     * {@code JCudaDriver}.
     *
     * @return what was done, for a log line
     */
    static String ensureDriverLibrary() {
        String name =
                jcuda.LibUtils.createLibraryFileName(
                        jcuda.LibUtils.createPlatformLibraryName(
                                "JCudaDriver-" + jcuda.JCudaVersion.get()));
        URL resource = jcuda.LibUtils.class.getResource("/lib/" + name);
        if (resource == null) {
            return "no " + name + " on the class path";
        }
        try {
            return ensure(resource, Path.of(System.getProperty("java.io.tmpdir"), name));
        } catch (IOException e) {
            return "cannot check " + name + ": " + e; // JCuda then reports what it finds
        }
    }

    /**
     * Makes {@code target} a byte-for-byte copy of {@code resource}: kept when equal (size and
     * SHA-256), else written to a temp file beside it and moved over it atomically, so a reader
     * never sees a partial library.
     *
     * @return "kept", "written" or "replaced" with the file name
     */
    static String ensure(URL resource, Path target) throws IOException {
        byte[] expected;
        try (InputStream in = resource.openStream()) {
            expected = in.readAllBytes();
        }
        boolean exists = Files.exists(target);
        if (exists
                && Files.size(target) == expected.length
                && Arrays.equals(sha256(Files.readAllBytes(target)), sha256(expected))) {
            return "kept " + target;
        }
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path temp = Files.createTempFile(dir, target.getFileName().toString(), ".part");
        try {
            Files.write(temp, expected);
            Files.move(
                    temp,
                    target,
                    StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
        return (exists ? "replaced " : "written ") + target;
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
