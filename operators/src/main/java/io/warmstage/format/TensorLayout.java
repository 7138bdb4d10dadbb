package io.warmstage.format;

import io.warmstage.format.SafetensorsException.Reason;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Sorts tensors by begin and checks that they tile the data section [0, last end) with no gap and
 * no overlap (reference: {@code Metadata::validate}, which sorts by data_offsets first).
 */
final class TensorLayout {
    /** Offset order: begin, then end (zero-size tensors first on ties), then name. */
    static final Comparator<TensorInfo> OFFSET_ORDER =
            Comparator.comparingLong(TensorInfo::begin)
                    .thenComparingLong(TensorInfo::end)
                    .thenComparing(TensorInfo::name);

    private TensorLayout() {}

    /**
     * @return the tensors in {@link #OFFSET_ORDER}
     * @throws SafetensorsException INVALID_OFFSET_TILING at the first gap or overlap
     */
    static List<TensorInfo> sortAndCheckTiling(List<TensorInfo> tensors)
            throws SafetensorsException {
        List<TensorInfo> sorted = new ArrayList<>(tensors);
        sorted.sort(OFFSET_ORDER);
        long expected = 0;
        TensorInfo previous = null;
        for (TensorInfo t : sorted) {
            if (t.begin() != expected) {
                throw tilingError(t, previous, expected);
            }
            expected = t.end();
            previous = t;
        }
        return sorted;
    }

    private static SafetensorsException tilingError(
            TensorInfo t, TensorInfo previous, long expected) {
        String range = "data_offsets [" + t.begin() + ", " + t.end() + ")";
        String detail;
        if (t.begin() > expected) {
            detail =
                    "tensor '"
                            + t.name()
                            + "' "
                            + range
                            + " leaves a gap of "
                            + (t.begin() - expected)
                            + " bytes after "
                            + (previous == null
                                    ? "the start of the data section"
                                    : "tensor '"
                                            + previous.name()
                                            + "' ["
                                            + previous.begin()
                                            + ", "
                                            + previous.end()
                                            + ")")
                            + "; tensors must cover the data section with no gap";
        } else {
            detail =
                    "tensor '"
                            + t.name()
                            + "' "
                            + range
                            + " overlaps tensor '"
                            + previous.name()
                            + "' ["
                            + previous.begin()
                            + ", "
                            + previous.end()
                            + "); tensors must not overlap";
        }
        return new SafetensorsException(Reason.INVALID_OFFSET_TILING, null, t.name(), detail);
    }
}
