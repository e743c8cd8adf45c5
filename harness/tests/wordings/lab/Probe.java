// One token request the way a Java RP makes it, and its failure printed as the product would (a stack trace).
// java Probe (urlconnection|httpclient) URL PROXY_PORT|- 
import java.net.*;
import java.net.http.*;
import java.io.*;
import java.time.Duration;

public class Probe {
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        URI uri = URI.create(args[1]);
        String proxy = args[2];
        String form = "grant_type=authorization_code&code=c&redirect_uri=http%3A%2F%2Frp.sso.test%2Fcallback";
        try {
            if (mode.equals("urlconnection")) {
                HttpURLConnection c = proxy.equals("-")
                    ? (HttpURLConnection) uri.toURL().openConnection()
                    : (HttpURLConnection) uri.toURL().openConnection(new Proxy(Proxy.Type.HTTP, new InetSocketAddress("127.0.0.1", Integer.parseInt(proxy))));
                c.setConnectTimeout(1000);
                c.setReadTimeout(1000);
                c.setRequestMethod("POST");
                c.setDoOutput(true);
                c.getOutputStream().write(form.getBytes());
                int status = c.getResponseCode();
                InputStream body = status >= 400 ? c.getErrorStream() : c.getInputStream();
                String text = body == null ? "" : new String(body.readAllBytes());
                if (status >= 400) {
                    throw new IOException("Server returned HTTP response code: " + status + " for URL: " + uri + " body: " + text);
                }
                System.out.println("status " + status);
            } else {
                HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(1000));
                if (!proxy.equals("-")) b.proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", Integer.parseInt(proxy))));
                HttpRequest r = HttpRequest.newBuilder(uri).timeout(Duration.ofMillis(1000))
                    .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString(form)).build();
                HttpResponse<String> resp = b.build().send(r, HttpResponse.BodyHandlers.ofString());
                System.out.println("status " + resp.statusCode() + " " + resp.body());
            }
        } catch (Exception e) {
            new RuntimeException("Exchanging authorization tokens failed.", e).printStackTrace();
        }
    }
}
