package io.warmstage.storage;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Redirect following for {@link HttpObjectStore}, with {@code HttpClient.Redirect.NORMAL}'s rule
 * (never https to http) plus two more:
 *
 * <ul>
 *   <li>a 3xx without a usable Location (S3's 301 for a bucket in another region) is returned to
 *       the caller, which reports it with its headers instead of "Invalid redirection";
 *   <li>the {@code Authorization} header is dropped when the redirect leaves the origin (a
 *       presigned URL on another host must not receive the bearer token).
 * </ul>
 */
final class HttpRedirects {
    /** The most redirects followed for one request, as {@code HttpClient}'s default. */
    static final int MAX_REDIRECTS = 5;

    private static final Set<Integer> REDIRECTS = Set.of(301, 302, 303, 307, 308);

    private HttpRedirects() {}

    /** Where {@code response} redirects to, if it is a redirect this store follows. */
    static Optional<URI> target(HttpResponse<?> response) {
        if (!REDIRECTS.contains(response.statusCode())) {
            return Optional.empty();
        }
        URI from = response.request().uri();
        Optional<String> location = response.headers().firstValue("Location");
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

    /** {@code request} sent to {@code target}, without Authorization when the origin changes. */
    static HttpRequest follow(HttpRequest request, URI target) {
        boolean sameOrigin = origin(request.uri()).equals(origin(target));
        return HttpRequest.newBuilder(
                        request,
                        (name, value) -> sameOrigin || !"authorization".equalsIgnoreCase(name))
                .uri(target)
                .build();
    }

    private static String origin(URI uri) {
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        int port = uri.getPort() >= 0 ? uri.getPort() : ("https".equals(scheme) ? 443 : 80);
        return scheme + "://" + uri.getHost().toLowerCase(Locale.ROOT) + ":" + port;
    }
}
