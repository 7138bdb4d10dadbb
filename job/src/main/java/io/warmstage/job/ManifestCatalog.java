package io.warmstage.job;

import io.warmstage.plan.ModelSpec;
import io.warmstage.source.ModelCatalog;
import java.nio.file.Path;
import java.util.List;

/**
 * The models of a manifest file, read again on every call: a refreshing job sees models added to,
 * changed in or removed from the manifest. The file must be readable where the enumerator runs (the
 * JobManager).
 */
public final class ManifestCatalog implements ModelCatalog {
    private static final long serialVersionUID = 1L;

    private final String path;

    /**
     * @param path the manifest file
     */
    public ManifestCatalog(Path path) {
        this.path = path.toAbsolutePath().toString();
    }

    /**
     * @throws IllegalArgumentException when the manifest cannot be read or is invalid (the message
     *     names the file and the problem)
     */
    @Override
    public List<ModelSpec> models() {
        return Manifest.read(Path.of(path)).specs();
    }

    @Override
    public String toString() {
        return "manifest " + path;
    }
}
