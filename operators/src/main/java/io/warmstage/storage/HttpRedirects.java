package io.warmstage.storage;

import java.net.URI;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpResponse;

/**
 * Redirect following for {@link HttpObjectStore}, with the usual browser rule (never https to http,
 * as {@code java.net.http}'s {@code Redirect.NORMAL}) plus two more:
 *
 * <ul>
 *   <li>a 3xx without a usable Location (S3's 301 for a bucket in another region) is returned to
 *       the caller, which reports it with its headers instead of "Invalid redirection";
 *   <li>the {@code Authorization} header is dropped when the redirect leaves the origin (a
 *       presigned URL on another host must not receive the bearer token).
 * </ul>
 */
final class HttpRedirects {
    /** The most redirects followed for one request. */
    static final int MAX_REDIRECTS = 5;

    private static final Set<Integer> REDIRECTS = Set.of(301, 302, 303, 307, 308);

    private HttpRedirects() {}

    /** Where {@code response} to a request for {@code from} redirects to, if this store follows. */
    static Optional<URI> target(URI from, HttpResponse response) {
        if (!REDIRECTS.contains(response.getCode())) {
            return Optional.empty();
        }
        Optional<String> location = HttpStatusErrors.first(response, "Location");
        if (location.isEmpty()) {
            return Optional.empty();
        }
        try {
            URI to = from.resolve(location.get().trim());
            String scheme = Objects.toString(to.getScheme(), "").toLowerCase(Locale.ROOT);
            boolean downgrade =
                    "https".equalsIgnoreCase(from.getScheme()) && !"https".equals(scheme);
            boolean web = "http".equals(scheme) || "https".equals(scheme);
            return web && !downgrade && to.getHost() != null ? Optional.of(to) : Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /**
     * {@code request} (for {@code from}) sent to {@code target} with the same method and headers,
     * without Authorization when the origin changes.
     */
    static HttpUriRequestBase follow(HttpUriRequestBase request, URI from, URI target) {
        boolean sameOrigin = origin(from).equals(origin(target));
        HttpUriRequestBase next = new HttpUriRequestBase(request.getMethod(), target);
        for (Header h : request.getHeaders()) {
            if (sameOrigin || !"authorization".equalsIgnoreCase(h.getName())) {
                next.addHeader(h);
            }
        }
        next.setConfig(request.getConfig());
        return next;
    }

    private static String origin(URI uri) {
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        int port = uri.getPort() >= 0 ? uri.getPort() : ("https".equals(scheme) ? 443 : 80);
        return scheme + "://" + uri.getHost().toLowerCase(Locale.ROOT) + ":" + port;
    }
}
