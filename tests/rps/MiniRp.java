// A minimal OpenID Connect relying party in Java 17, for sso-repro's "bring your own RP" tests.
// It follows the sso-repro external-RP contract (see harness/src/command.rs): settings in SSO_*
// environment variables, "sso-repro-rp ready on port N" when listening, and after each callback
// "sso-repro-rp: signed in" or, after printing the stack trace, "sso-repro-rp: sign-in failed".
// The code exchange uses java.net.HttpURLConnection through an HTTP proxy, as Jira's SSO app does.
// It does not validate the ID token (a product's own RP would): it only gets as far as the tokens.

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.URL;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

public class MiniRp {
    static final PrintStream out = System.out;
    static final Set<String> pendingStates = ConcurrentHashMap.newKeySet();
    static String redirectUri;

    static String env(String name) {
        String value = System.getenv(name);
        return value == null ? "" : value;
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    static class AuthenticationFailedException extends Exception {
        AuthenticationFailedException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    public static void main(String[] args) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        int port = server.getAddress().getPort();
        redirectUri = "http://" + env("SSO_RP_HOST") + ":" + port + "/callback";
        server.createContext("/login", MiniRp::login);
        server.createContext("/callback", MiniRp::callback);
        server.start();
        out.println("sso-repro-rp ready on port " + port);
        out.flush();
    }

    static void login(HttpExchange exchange) throws IOException {
        String state = UUID.randomUUID().toString();
        pendingStates.add(state);
        String location = env("SSO_AUTHORIZATION_ENDPOINT") + "?response_type=code&scope=openid"
                + "&client_id=" + enc(env("SSO_CLIENT_ID")) + "&redirect_uri=" + enc(redirectUri)
                + "&state=" + state + "&nonce=" + UUID.randomUUID();
        exchange.getResponseHeaders().add("Location", location);
        exchange.sendResponseHeaders(302, -1);
        exchange.close();
    }

    static void callback(HttpExchange exchange) throws IOException {
        Map<String, String> query = new HashMap<>();
        String raw = exchange.getRequestURI().getRawQuery();
        for (String pair : raw == null ? new String[0] : raw.split("&")) {
            String[] kv = pair.split("=", 2);
            query.put(URLDecoder.decode(kv[0], StandardCharsets.UTF_8), kv.length > 1 ? URLDecoder.decode(kv[1], StandardCharsets.UTF_8) : "");
        }
        int status;
        String page;
        try {
            if (!pendingStates.remove(query.getOrDefault("state", ""))) {
                throw new AuthenticationFailedException("Validating the authorization response failed.", new IllegalStateException("state mismatch"));
            }
            exchangeCode(query.getOrDefault("code", ""));
            out.println("INFO tokens received");
            out.println("sso-repro-rp: signed in");
            status = 200;
            page = "signed in";
        } catch (AuthenticationFailedException e) {
            e.printStackTrace(out);
            out.println("sso-repro-rp: sign-in failed");
            status = 401;
            page = "Sign-in failed";
        }
        out.flush();
        byte[] body = page.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream os = exchange.getResponseBody()) {
            os.write(body);
        }
    }

    static SSLContext trustingOnlyTheGivenCa() throws GeneralSecurityException, IOException {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream pem = new FileInputStream(env("SSO_CA_FILE"))) {
            int i = 0;
            for (Certificate certificate : CertificateFactory.getInstance("X.509").generateCertificates(pem)) {
                trust.setCertificateEntry("ca-" + i++, certificate);
            }
        }
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, factory.getTrustManagers(), null);
        return context;
    }

    static String exchangeCode(String code) throws AuthenticationFailedException {
        try {
            URL url = new URL(env("SSO_TOKEN_ENDPOINT"));
            Proxy proxy = env("SSO_PROXY_HOST").isEmpty()
                    ? Proxy.NO_PROXY
                    : new Proxy(Proxy.Type.HTTP, new InetSocketAddress(env("SSO_PROXY_HOST"), Integer.parseInt(env("SSO_PROXY_PORT"))));
            HttpsURLConnection connection = (HttpsURLConnection) url.openConnection(proxy);
            connection.setSSLSocketFactory(trustingOnlyTheGivenCa().getSocketFactory());
            int timeout = Integer.parseInt(env("SSO_TIMEOUT_MS"));
            connection.setConnectTimeout(timeout);
            connection.setReadTimeout(timeout);
            connection.setRequestMethod("POST");
            connection.setDoOutput(true);
            String credentials = enc(env("SSO_CLIENT_ID")) + ":" + enc(env("SSO_CLIENT_SECRET"));
            connection.setRequestProperty("Authorization", "Basic " + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8)));
            connection.setRequestProperty("Content-Type", "application/x-www-form-urlencoded");
            String form = "grant_type=authorization_code&code=" + enc(code) + "&redirect_uri=" + enc(redirectUri);
            try (OutputStream os = connection.getOutputStream()) {
                os.write(form.getBytes(StandardCharsets.UTF_8));
            }
            int status = connection.getResponseCode();
            if (status != 200) {
                throw new IOException("Unexpected response from token endpoint " + url + ". status=" + status + " " + read(connection.getErrorStream()));
            }
            return read(connection.getInputStream());
        } catch (IOException | GeneralSecurityException e) {
            throw new AuthenticationFailedException("Exchanging authorization tokens failed.", e);
        }
    }

    static String read(InputStream stream) throws IOException {
        if (stream == null) {
            return "";
        }
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        stream.transferTo(buffer);
        return buffer.toString(StandardCharsets.UTF_8);
    }
}
