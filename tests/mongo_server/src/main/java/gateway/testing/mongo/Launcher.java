package gateway.testing.mongo;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;

/**
 * Test-only MongoDB wire-protocol server (mongo-java-server, in-memory backend).
 *
 * <pre>java -jar mongo-server.jar [--port N] [--host 127.0.0.1] [--ignore-stdin]</pre>
 *
 * Binds (port 0 = any free port), prints exactly one line {@code LISTENING <port>} to stdout,
 * then runs until stdin reaches EOF (unless --ignore-stdin) or the JVM receives SIGTERM/SIGINT.
 */
public final class Launcher {

    /** Reports MongoDB 6.0 / wire version 17: PyMongo 4.x refuses servers below wire version 9. */
    static final class Mongo60 implements MongoVersion {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(6, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 17;
        }
    }

    /** The library only knows the legacy {@code isMaster}; answer MongoDB 5.0+'s {@code hello} with it too. */
    static final class Backend extends MemoryBackend {
        @Override
        public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
            if (command.equals("hello")) {
                Document response = super.handleCommand(channel, databaseName, "ismaster", query);
                response.remove("ismaster");
                response.put("isWritablePrimary", Boolean.TRUE);
                return response;
            }
            return super.handleCommand(channel, databaseName, command, query);
        }
    }

    private Launcher() {
    }

    public static void main(String[] args) throws InterruptedException {
        String host = "127.0.0.1";
        int port = 0;
        boolean watchStdin = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(requireValue(args, ++i));
                case "--host" -> host = requireValue(args, ++i);
                case "--ignore-stdin" -> watchStdin = false;
                default -> {
                    System.err.println("usage: java -jar mongo-server.jar [--port N] [--host 127.0.0.1] [--ignore-stdin]");
                    System.exit(2);
                }
            }
        }

        MongoServer server = new MongoServer(new Backend().version(new Mongo60()));
        try {
            server.bind(host, port);
        } catch (Throwable e) { // e.g. java.net.BindException, thrown unchecked by Netty
            System.err.println("failed to bind " + host + ":" + port + ": " + e);
            server.shutdownNow(); // otherwise Netty's non-daemon event loops keep the JVM alive
            System.exit(1);
        }
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdownNow();
            done.countDown();
        }, "mongo-server-shutdown"));

        InetSocketAddress address = server.getLocalAddress();
        PrintStream out = System.out;
        out.println("LISTENING " + address.getPort());
        out.flush();

        if (watchStdin) {
            Thread watcher = new Thread(() -> {
                InputStream in = System.in;
                byte[] buffer = new byte[256];
                try {
                    while (in.read(buffer) >= 0) {
                        // discard; we only wait for EOF
                    }
                } catch (IOException ignored) {
                    // treat a broken stdin like EOF
                }
                System.exit(0); // runs the shutdown hook
            }, "stdin-watcher");
            watcher.setDaemon(true);
            watcher.start();
        }
        done.await();
    }

    private static String requireValue(String[] args, int index) {
        if (index >= args.length) {
            System.err.println("missing value for " + args[index - 1]);
            System.exit(2);
        }
        return args[index];
    }
}
