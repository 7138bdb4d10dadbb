package io.warmstage.staging;

import io.warmstage.storage.FileId;
import io.warmstage.storage.ObjectVersion;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * A separate process that claims one file of a host cache, prints {@code claimed=true|false}, holds
 * the claim until its standard input closes or says {@code release}, then releases and exits.
 * Started by {@link CacheClaimsProcessTest} as a second TaskManager process of the same host would.
 */
public final class ClaimingProcess {
    private ClaimingProcess() {}

    /**
     * @param args the host's cache directory, the file's URI, size in bytes and ETag
     */
    public static void main(String[] args) throws Exception {
        Object slot = new Object();
        FileId file = new FileId(args[1], new ObjectVersion(Long.parseLong(args[2]), args[3]));
        boolean claimed = CacheClaims.claim(args[0], file, slot);
        System.out.println("claimed=" + claimed);
        System.out.flush();
        BufferedReader in =
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null && !line.equals("release")) {
            // hold the claim
        }
        CacheClaims.releaseAll(slot);
        System.out.println("released");
        System.out.flush();
    }
}
