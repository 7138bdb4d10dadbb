package io.warmstage.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.junit.jupiter.api.Test;

class RedactionTest {
    @Test
    void userInfoAndSecretQueryValuesGoOtherParametersStay() {
        assertThat(Redaction.uri(URI.create("https://u:pw@h.example:8443/a/b.safetensors#frag")))
                .isEqualTo("https://h.example:8443/a/b.safetensors");
        assertThat(
                        Redaction.uri(
                                "https://b.s3.amazonaws.com/m.safetensors?X-Amz-Algorithm=AWS4"
                                        + "&X-Amz-Credential=AKIA%2Fx&X-Amz-Signature=abc"
                                        + "&X-Amz-Security-Token=t&versionId=7"))
                .isEqualTo(
                        "https://b.s3.amazonaws.com/m.safetensors?X-Amz-Algorithm=AWS4"
                                + "&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED"
                                + "&X-Amz-Security-Token=REDACTED&versionId=7");
        assertThat(
                        Redaction.uri(
                                "https://storage.googleapis.com/b/m?GoogleAccessId=a%40b"
                                        + "&Expires=1&Signature=s&sig=1&token=2&access_token=3"
                                        + "&key=4&X-Goog-Signature=5"))
                .isEqualTo(
                        "https://storage.googleapis.com/b/m?GoogleAccessId=REDACTED&Expires=1"
                                + "&Signature=REDACTED&sig=REDACTED&token=REDACTED"
                                + "&access_token=REDACTED&key=REDACTED&X-Goog-Signature=REDACTED");
        assertThat(Redaction.uri("file:/models/a%20b.safetensors"))
                .isEqualTo("file:/models/a%20b.safetensors");
        assertThat(Redaction.uri("s3://bucket/key.safetensors"))
                .isEqualTo("s3://bucket/key.safetensors");
    }

    @Test
    void textLosesEveryUrisCredentialsAndKeepsTheRest() {
        String msg = "GET http://u:pw@h/x?sig=abc&n=1: HTTP 403; see https://h2/y?Signature=q, ok";
        assertThat(Redaction.text(msg))
                .isEqualTo(
                        "GET http://h/x?sig=REDACTED&n=1: HTTP 403; see"
                                + " https://h2/y?Signature=REDACTED, ok");
        assertThat(Redaction.text("plain text, a@b and x=y")).isEqualTo("plain text, a@b and x=y");
    }

    @Test
    void hasCredentialsTellsUrisThatNeedRedaction() {
        assertThat(Redaction.hasCredentials(URI.create("http://u:p@h/x"))).isTrue();
        assertThat(Redaction.hasCredentials(URI.create("http://h/x?X-Amz-Signature=1"))).isTrue();
        assertThat(Redaction.hasCredentials(URI.create("http://h/x?versionId=1"))).isFalse();
        assertThat(Redaction.hasCredentials(URI.create("file:/x"))).isFalse();
    }

    @Test
    void aSplitIdHoldingTheRawUriAfterAPlainParameterHidesItsSecretsAndKeyNamesAreSecret() {
        String logged =
                "Adding split(s) to reader: [ChunkSplit{0:http://h/m.safetensors?foo=bar"
                        + ":http://h/m.safetensors?X-Amz-Signature=SIGSECRET&access_key=AKSECRET"
                        + "&x-api-key=APIKEYSECRET&OSSAccessKeyId=OSSSECRET&foo=bar@0}]";
        String out = Redaction.text(logged);
        assertThat(out)
                .doesNotContain("SIGSECRET")
                .doesNotContain("AKSECRET")
                .doesNotContain("APIKEYSECRET")
                .doesNotContain("OSSSECRET")
                .contains("foo=bar");
    }
}
