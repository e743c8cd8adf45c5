// An OpenID Connect relying party in Java 17 whose back channel is java.net.http.HttpClient (the
// client newer Java servers use), beside tests/rps/MiniRp.java (HttpURLConnection). It follows the
// sso-repro external-RP contract (harness/src/command.rs): settings in SSO_* environment variables,
// "sso-repro-rp ready on port N" when listening, and after each callback "sso-repro-rp: signed in"
// or, after printing the stack trace, "sso-repro-rp: sign-in failed". The state lives under a
// session cookie. It does not validate the ID token (the JDK has no JOSE library): it gets as far
// as the tokens, which is what its capabilities in rp.toml say.
//
// Names: started with -Djdk.net.hosts.file=$SSO_HOSTS_FILE, so the JDK resolves only the names the
// harness gives this RP, and no query leaves the machine.

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Authenticator;
import java.net.InetSocketAddress;
import java.net.PasswordAuthentication;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;

public class HttpClientRp {
    static final PrintStream out = System.out;
    static final Map<String, String> stateBySession = new ConcurrentHashMap<>();
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
        server.createContext("/login", HttpClientRp::login);
        server.createContext("/callback", HttpClientRp::callback);
        warmUp();
        server.start();
        out.println("sso-repro-rp ready on port " + port);
        out.flush();
    }

    /**
     * One HTTPS request to itself before serving, so that the JDK's TLS and HTTP client code is
     * loaded and compiled, as in a server that has served requests: a cold JVM's first handshake
     * takes longer than the catalog's 300 ms timeouts. The key is a throwaway one, made by keytool
     * at build time (rp.toml); nothing leaves the process.
     */
    static void warmUp() throws Exception {
        char[] password = "warmup-only".toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        Path classes = Path.of(HttpClientRp.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        try (InputStream in = new FileInputStream(classes.resolve("warmup.p12").toFile())) {
            keys.load(in, password);
        }
        KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(keys, password);
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(keys);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keyManagers.getKeyManagers(), trust.getTrustManagers(), null);
        HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(context));
        server.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        server.start();
        try {
            HttpClient client = HttpClient.newBuilder().sslContext(context).proxy(HttpClient.Builder.NO_PROXY).build();
            URI self = URI.create("https://127.0.0.1:" + server.getAddress().getPort() + "/");
            client.send(HttpRequest.newBuilder(self).POST(HttpRequest.BodyPublishers.ofString("warm-up")).build(),
                    HttpResponse.BodyHandlers.ofString());
        } finally {
            server.stop(0);
        }
    }

    static void login(HttpExchange exchange) throws IOException {
        String session = UUID.randomUUID().toString();
        String state = UUID.randomUUID().toString();
        stateBySession.put(session, state);
        String location = env("SSO_AUTHORIZATION_ENDPOINT") + "?response_type=code&scope=openid"
                + "&client_id=" + enc(env("SSO_CLIENT_ID")) + "&redirect_uri=" + enc(redirectUri)
                + "&state=" + state + "&nonce=" + UUID.randomUUID();
        exchange.getResponseHeaders().add("Set-Cookie", "JSESSIONID=" + session + "; Path=/; HttpOnly");
        exchange.getResponseHeaders().add("Location", location);
        exchange.sendResponseHeaders(302, -1);
        exchange.close();
    }

    static Map<String, String> query(HttpExchange exchange) {
        Map<String, String> query = new HashMap<>();
        String raw = exchange.getRequestURI().getRawQuery();
        for (String pair : raw == null ? new String[0] : raw.split("&")) {
            String[] kv = pair.split("=", 2);
            query.put(URLDecoder.decode(kv[0], StandardCharsets.UTF_8),
                    kv.length > 1 ? URLDecoder.decode(kv[1], StandardCharsets.UTF_8) : "");
        }
        return query;
    }

    static String session(HttpExchange exchange) {
        for (String header : exchange.getRequestHeaders().getOrDefault("Cookie", List.of())) {
            for (String cookie : header.split(";")) {
                String[] kv = cookie.trim().split("=", 2);
                if (kv.length == 2 && kv[0].equals("JSESSIONID")) {
                    return kv[1];
                }
            }
        }
        return "";
    }

    static void callback(HttpExchange exchange) throws IOException {
        Map<String, String> query = query(exchange);
        int status;
        String page;
        try {
            if (query.containsKey("error")) {
                throw new AuthenticationFailedException("Validating the authorization response failed.",
                        new IllegalStateException(query.get("error") + ": " + query.getOrDefault("error_description", "")));
            }
            String expected = stateBySession.remove(session(exchange));
            if (expected == null || !expected.equals(query.getOrDefault("state", ""))) {
                throw new AuthenticationFailedException("Validating the authorization response failed.",
                        new IllegalStateException("state mismatch"));
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

    /** The proxy for every host except those in SSO_NO_PROXY (suffix match, as NO_PROXY means). */
    static ProxySelector proxySelector() {
        if (env("SSO_PROXY_HOST").isEmpty()) {
            return HttpClient.Builder.NO_PROXY;
        }
        Proxy proxy = new Proxy(Proxy.Type.HTTP,
                new InetSocketAddress(env("SSO_PROXY_HOST"), Integer.parseInt(env("SSO_PROXY_PORT"))));
        String[] noProxy = env("SSO_NO_PROXY").isEmpty() ? new String[0] : env("SSO_NO_PROXY").split(",");
        return new ProxySelector() {
            @Override
            public List<Proxy> select(URI uri) {
                String host = uri.getHost().toLowerCase();
                for (String entry : noProxy) {
                    String suffix = entry.trim().toLowerCase().replaceFirst("^\\.", "");
                    if (!suffix.isEmpty() && (host.equals(suffix) || host.endsWith("." + suffix))) {
                        return List.of(Proxy.NO_PROXY);
                    }
                }
                return List.of(proxy);
            }

            @Override
            public void connectFailed(URI uri, SocketAddress address, IOException error) {
            }
        };
    }

    static String exchangeCode(String code) throws AuthenticationFailedException {
        try {
            Duration timeout = Duration.ofMillis(Long.parseLong(env("SSO_TIMEOUT_MS")));
            HttpClient.Builder builder = HttpClient.newBuilder()
                    .sslContext(trustingOnlyTheGivenCa())
                    .proxy(proxySelector())
                    .connectTimeout(timeout)
                    .followRedirects(HttpClient.Redirect.NEVER);
            if (!env("SSO_PROXY_USER").isEmpty()) {
                builder.authenticator(new Authenticator() {
                    @Override
                    protected PasswordAuthentication getPasswordAuthentication() {
                        return getRequestorType() == RequestorType.PROXY
                                ? new PasswordAuthentication(env("SSO_PROXY_USER"), env("SSO_PROXY_PASSWORD").toCharArray())
                                : null;
                    }
                });
            }
            HttpClient client = builder.build();
            String form = "grant_type=authorization_code&code=" + enc(code) + "&redirect_uri=" + enc(redirectUri);
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(env("SSO_TOKEN_ENDPOINT")))
                    .timeout(timeout)
                    .header("Content-Type", "application/x-www-form-urlencoded");
            if (env("SSO_CLIENT_AUTH_METHOD").equals("client_secret_post")) {
                form += "&client_id=" + enc(env("SSO_CLIENT_ID")) + "&client_secret=" + enc(env("SSO_CLIENT_SECRET"));
            } else {
                String credentials = enc(env("SSO_CLIENT_ID")) + ":" + enc(env("SSO_CLIENT_SECRET"));
                request.header("Authorization", "Basic "
                        + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8)));
            }
            HttpResponse<String> response = client.send(request.POST(HttpRequest.BodyPublishers.ofString(form)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IOException("Unexpected response from token endpoint " + env("SSO_TOKEN_ENDPOINT")
                        + ". status=" + response.statusCode() + " " + response.body());
            }
            for (String field : new String[] {"access_token", "id_token"}) {
                if (!response.body().contains("\"" + field + "\"")) {
                    throw new IOException("The token response has no " + field + ": " + response.body());
                }
            }
            return response.body();
        } catch (IOException | GeneralSecurityException e) {
            throw new AuthenticationFailedException("Exchanging authorization tokens failed.", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AuthenticationFailedException("Exchanging authorization tokens failed.", e);
        }
    }
}
