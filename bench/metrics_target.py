"""A metrics target for the benchmarks: serves /metrics from a function that builds each scrape's body."""
import http.server


def serve(body, port_file, threaded=False):
    """Answers every GET with body() as a Prometheus text exposition; writes the port to port_file."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            data = body()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    base = http.server.ThreadingHTTPServer if threaded else http.server.HTTPServer

    class Server(base):
        def handle_error(self, request, client_address):
            pass  # a scraper killed mid-request (the kill benchmark) is expected, not worth a traceback

    server = Server(("127.0.0.1", 0), Handler)
    with open(port_file, "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()
