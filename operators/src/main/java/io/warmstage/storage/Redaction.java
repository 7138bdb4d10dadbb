package io.warmstage.storage;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place that renders URIs and messages for people and files without credentials: no user
 * info, the values of secret query parameters (those of presigned S3, GCS and Azure URLs, OAuth
 * tokens, API keys) replaced by {@value #MASK}, no fragment. Every writer (console, report, logs,
 * cache sidecars, metric names, error messages) goes through it. Storage rules (DESIGN.md): never
 * log credentials.
 */
public final class Redaction {
    /** What a secret query parameter's value becomes. */
    public static final String MASK = "REDACTED";

    /** Query parameter names (lower case) whose values are secrets or identify a signer. */
    private static final Set<String> SECRET_NAMES =
            Set.of(
                    "sig",
                    "signature",
                    "token",
                    "access_token",
                    "id_token",
                    "refresh_token",
                    "key",
                    "api_key",
                    "apikey",
                    "password",
                    "passwd",
                    "pwd",
                    "secret",
                    "client_secret",
                    "googleaccessid",
                    "x-amz-signature",
                    "x-amz-credential",
                    "x-amz-security-token",
                    "x-goog-signature",
                    "x-goog-credential",
                    "awsaccesskeyid");

    /** Name fragments that mark a parameter secret whatever else its name says. */
    private static final String[] SECRET_PARTS = {
        "signature", "token", "secret", "password", "credential", "auth", "hmac", "session", "key"
    };

    /** {@code scheme://user[:password]@}: the user info of a hierarchical URI inside any text. */
    private static final Pattern USER_INFO =
            Pattern.compile("\\b([a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#@\\s\"'<>]*@");

    /** {@code ?name=value} or {@code &name=value} inside any text. */
    private static final Pattern QUERY_PARAM =
            Pattern.compile("([?&;])([^=&?#\\s\"'<>]+)=([^&#?\\s\"'<>,)]*)");

    private Redaction() {}

    /**
     * {@code scheme://host[:port]/path[?query]} without user info, fragment and secret values;
     * {@code file:/path} for local files.
     */
    public static String uri(URI uri) {
        if (uri.getScheme() == null) {
            return uri.getRawPath() == null ? "<opaque uri>" : uri.getRawPath();
        }
        if ("file".equals(uri.getScheme())) {
            return text(uri.toString()); // as given (file:/x or file:///x), secrets masked
        }
        if (uri.getRawAuthority() == null && uri.getRawPath() == null) {
            return uri.getScheme() + ":<opaque uri>";
        }
        StringBuilder b = new StringBuilder().append(uri.getScheme()).append("://");
        b.append(uri.getHost() != null ? uri.getHost() : authorityWithoutUser(uri));
        if (uri.getHost() != null && uri.getPort() >= 0) {
            b.append(':').append(uri.getPort());
        }
        b.append(path(uri));
        if (uri.getRawQuery() != null) {
            b.append('?').append(query(uri.getRawQuery()));
        }
        return b.toString();
    }

    /**
     * The URI as the host's staged set records it and consumers look it up: {@code
     * scheme://host[:port]/path}, with {@code ?…} when a query was dropped (presigned URLs carry
     * their signature there); no user info, no fragment; {@code file:<raw path>} for a local file.
     * The Python consumer ({@code python/warmstage/_registry.py}, {@code redact}) computes the same
     * string from the URI it is given.
     */
    public static String stagedUri(URI uri) {
        if (uri.getScheme() == null || "file".equals(uri.getScheme())) {
            if (uri.getRawPath() == null) {
                return "<opaque uri>";
            }
            return uri.getScheme() == null ? uri.getRawPath() : "file:" + uri.getRawPath();
        }
        if (uri.getRawAuthority() == null && uri.getRawPath() == null) {
            return uri.getScheme() + ":<opaque uri>";
        }
        StringBuilder b = new StringBuilder().append(uri.getScheme()).append("://");
        b.append(uri.getHost() != null ? uri.getHost() : authorityWithoutUser(uri));
        if (uri.getHost() != null && uri.getPort() >= 0) {
            b.append(':').append(uri.getPort());
        }
        b.append(path(uri));
        if (uri.getRawQuery() != null) {
            b.append("?…");
        }
        return b.toString();
    }

    /**
     * {@link #uri(URI)} of a URI string; a string that is not a URI is redacted as {@link
     * #text(String)}. Null stays null.
     */
    public static String uri(String uri) {
        if (uri == null) {
            return null;
        }
        try {
            return uri(new URI(uri));
        } catch (URISyntaxException e) {
            return text(uri);
        }
    }

    /**
     * Free text (an error message, a log line) with the user info and secret query values of every
     * URI in it removed. Null stays null.
     */
    public static String text(String text) {
        if (text == null || (text.indexOf('@') < 0 && text.indexOf('=') < 0)) {
            return text;
        }
        String noUser = USER_INFO.matcher(text).replaceAll("$1");
        return maskParams(noUser);
    }

    /** True if {@code uri} holds user info or a secret query parameter. */
    public static boolean hasCredentials(URI uri) {
        return uri.getRawUserInfo() != null
                || (uri.getRawQuery() != null
                        && !query(uri.getRawQuery()).equals(uri.getRawQuery()));
    }

    /** The raw path of {@code uri}, or {@code /} when it has none. */
    static String path(URI uri) {
        String p = uri.getRawPath();
        return p == null || p.isEmpty() ? "/" : p;
    }

    /** True if a query parameter of this name carries a secret. */
    static boolean isSecret(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (SECRET_NAMES.contains(n)) {
            return true;
        }
        for (String part : SECRET_PARTS) {
            if (n.contains(part)) {
                return true;
            }
        }
        return false;
    }

    private static String query(String rawQuery) {
        return maskParams("?" + rawQuery).substring(1);
    }

    private static String maskParams(String text) {
        Matcher m = QUERY_PARAM.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String name = m.group(2);
            String value = isSecret(name) ? MASK : m.group(3);
            m.appendReplacement(out, Matcher.quoteReplacement(m.group(1) + name + "=" + value));
        }
        m.appendTail(out);
        return out.toString();
    }

    private static String authorityWithoutUser(URI uri) {
        String a = uri.getRawAuthority();
        if (a == null) {
            return "";
        }
        int at = a.lastIndexOf('@');
        return at < 0 ? a : a.substring(at + 1);
    }
}
