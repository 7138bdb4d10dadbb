package io.warmstage.job.logging;

import io.warmstage.storage.Redaction;
import java.util.List;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.plugins.Plugin;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.apache.logging.log4j.core.pattern.ConverterKeys;
import org.apache.logging.log4j.core.pattern.LogEventPatternConverter;
import org.apache.logging.log4j.core.pattern.PatternConverter;
import org.apache.logging.log4j.core.pattern.PatternFormatter;
import org.apache.logging.log4j.core.pattern.PatternParser;

/**
 * Log4j 2 pattern converter {@code %redact{pattern}}: formats {@code pattern} (message, exception,
 * anything) and removes credentials from it with {@link Redaction#text}, so that no log line shows
 * a password or a presigned URL's signature, whoever logged it (Warmstage, Flink, an SDK).
 */
@Plugin(name = "redact", category = PatternConverter.CATEGORY)
@ConverterKeys({"redact"})
public final class RedactConverter extends LogEventPatternConverter {
    private final List<PatternFormatter> formatters;

    private RedactConverter(List<PatternFormatter> formatters) {
        super("redact", "redact");
        this.formatters = formatters;
    }

    /**
     * Log4j's factory.
     *
     * @param options one element: the pattern to format, e.g. {@code %m%ex}
     */
    public static RedactConverter newInstance(Configuration config, String[] options) {
        if (options.length != 1) {
            throw new IllegalArgumentException("%redact takes one pattern, e.g. %redact{%m%ex}");
        }
        PatternParser parser = PatternLayout.createPatternParser(config);
        return new RedactConverter(parser.parse(options[0]));
    }

    @Override
    public void format(LogEvent event, StringBuilder toAppendTo) {
        StringBuilder b = new StringBuilder();
        for (PatternFormatter f : formatters) {
            f.format(event, b);
        }
        toAppendTo.append(Redaction.text(b.toString()));
    }

    @Override
    public boolean handlesThrowable() {
        return formatters.stream().anyMatch(PatternFormatter::handlesThrowable);
    }
}
