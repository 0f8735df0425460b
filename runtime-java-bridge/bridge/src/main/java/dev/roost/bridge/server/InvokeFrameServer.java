package dev.roost.bridge.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.roost.bridge.BridgeError;
import dev.roost.bridge.BridgeThreads;
import dev.roost.bridge.ErrorCode;
import dev.roost.bridge.sandbox.Sandboxes;
import dev.roost.v1alpha1.BridgeInvokeRequest;
import dev.roost.v1alpha1.FunctionError;
import dev.roost.v1alpha1.InvokeResponse;
import io.grpc.Status;
import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Invocations on a Unix socket of their own, in the frames the Node path
 * speaks (runtime-node/frames.js): a length, a JSON header, the body bytes as
 * they are. A gRPC unary Invoke cost the sidecar about 150 µs of CPU in
 * grpc-js per call (BENCHMARKS.md, RUNTIME=java bench:invoke); a frame costs
 * a small JSON header on each side. Load, Unload, Stats, Health and the event
 * stream stay gRPC.
 *
 * <p>The first frame of a connection must be {@code {"type":"hello","token":<secret>}};
 * then each frame is {@code {"id","sandbox","requestId","timeoutMs"}} with the
 * event as its body, answered by {@code {"id", error fields...}} with the
 * result as its body, or
 * {@code {"id","rejection":{"code","message","notInvoked","errorCode"}}} (a gRPC
 * status and the bridge's stable error code) when the bridge refused it before
 * the function ran. A hello with {@code "binaryHeaders":true} is answered with
 * {@code {"type":"welcome","binaryHeaders":true}}, and from then on both kinds
 * of frame have the binary headers of {@link FrameHeaders} (the sidecar's
 * client offers them; a bridge image that predates them never welcomes, and
 * the client keeps to JSON). Answers go out in the order functions finish,
 * from their threads, several in one write when they finish together
 * ({@link FrameOutput}).
 */
public final class InvokeFrameServer {
  /** The gRPC server's message limit, and room for a header. */
  static final int MAX_FRAME_BYTES = 16 * 1024 * 1024 + 64 * 1024;
  /** The largest result sent; the rest of a frame is its header. */
  static final int MAX_RESULT_BYTES = MAX_FRAME_BYTES - 64 * 1024;
  /** Until the hello, a peer may send no more than this. */
  private static final int HELLO_MAX_BYTES = 4096;

  /** How often a wait for a new connection looks whether the listener was closed. */
  static final long CLOSED_CHECK_MS = 500;

  /** A connection that has not shown the secret by then is closed. */
  private static final long HELLO_TIMEOUT_MS = 10_000;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ScheduledExecutorService HELLO_DEADLINES =
      Executors.newSingleThreadScheduledExecutor(body -> BridgeThreads.daemon("roost-bridge-frames-hello", body));

  private final ServerSocketChannel listener;
  private final Path path;
  private final byte[] secret;
  private final Sandboxes sandboxes;
  private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();

  private InvokeFrameServer(ServerSocketChannel listener, Path path, String secret, Sandboxes sandboxes) {
    this.listener = listener;
    this.path = path;
    this.secret = secret.getBytes(StandardCharsets.UTF_8);
    this.sandboxes = sandboxes;
  }

  /** The socket next to the gRPC one: {@code <grpc socket>.invoke}. */
  public static Path pathFor(Path grpcSocket) {
    return grpcSocket.resolveSibling(grpcSocket.getFileName() + ".invoke");
  }

  public static InvokeFrameServer start(Path path, String secret, Sandboxes sandboxes) throws IOException {
    Files.deleteIfExists(path);
    ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    listener.bind(UnixDomainSocketAddress.of(path));
    try {
      Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException ignored) {
      // Not a POSIX file system: the secret alone guards the socket.
    }
    InvokeFrameServer server = new InvokeFrameServer(listener, path, secret, sandboxes);
    BridgeThreads.daemon("roost-bridge-frames-accept", server::acceptLoop).start();
    return server;
  }

  /** Takes no new connections; those open keep answering until {@link #closeConnections()}. */
  public void stopAccepting() {
    try {
      listener.close();
    } catch (IOException ignored) {
      // Closing anyway.
    }
    try {
      Files.deleteIfExists(path);
    } catch (IOException ignored) {
      // The next start removes it.
    }
  }

  public void closeConnections() {
    for (SocketChannel connection : connections) closeQuietly(connection);
  }

  /**
   * Accepts without blocking, waiting on a selector: an interrupt of a thread
   * blocked in accept would close the listener, and function code can reach
   * every thread of the JVM. A closed listener does not wake the select; it is
   * looked at every {@link #CLOSED_CHECK_MS}.
   */
  private void acceptLoop() {
    try (Selector acceptable = Selector.open()) {
      listener.configureBlocking(false);
      listener.register(acceptable, SelectionKey.OP_ACCEPT);
      while (listener.isOpen()) {
        acceptable.select(CLOSED_CHECK_MS);
        acceptable.selectedKeys().clear();
        Thread.interrupted();
        try {
          for (SocketChannel channel; (channel = listener.accept()) != null; ) {
            SocketChannel accepted = channel;
            connections.add(accepted);
            BridgeThreads.daemon("roost-bridge-frames-read", () -> serve(accepted)).start();
          }
        } catch (IOException e) {
          // Out of file descriptors, say: tried again after a pause, not in a loop that spins.
          if (listener.isOpen()) LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(CLOSED_CHECK_MS));
        }
      }
    } catch (IOException e) {
      // The listener was closed (stopAccepting) or could not be watched: no more connections.
    }
  }

  /** Reads one connection's frames until it closes; a peer out of step is closed. */
  private void serve(SocketChannel channel) {
    boolean authorised = false;
    ScheduledFuture<?> helloDeadline =
        HELLO_DEADLINES.schedule(() -> closeQuietly(channel), HELLO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    try {
      // Non-blocking, so that no interrupt of a thread reading or writing it closes it (FrameOutput).
      channel.configureBlocking(false);
      try (FrameInput input = new FrameInput(channel);
          FrameOutput output = new FrameOutput(channel)) {
        while (true) {
          int length = input.peekLength();
          int headerBytes = input.peekHeaderBytes();
          int limit = authorised ? MAX_FRAME_BYTES : HELLO_MAX_BYTES;
          if (length < 4 || length > limit || headerBytes < 0 || headerBytes > length - 4) {
            refuse(output, Status.Code.INVALID_ARGUMENT.value(), "a frame of " + length + " bytes is malformed or over the limit of " + limit);
            return;
          }
          byte[] bytes = input.take(length);
          // The frame's own array, fresh for each frame and never written again: wrapped, not copied.
          ByteString payload = UnsafeByteOperations.unsafeWrap(bytes, headerBytes, length - 4 - headerBytes);
          if (!authorised) {
            JsonNode hello = JSON.readTree(bytes, 0, headerBytes);
            if (!hello.path("type").asText().equals("hello") || !tokenMatches(hello.path("token").asText())) {
              refuse(output, Status.Code.UNAUTHENTICATED.value(), "a valid bridge secret is required (a hello frame with the token)");
              return;
            }
            authorised = true;
            helloDeadline.cancel(false);
            if (hello.path("binaryHeaders").asBoolean(false)) {
              output.binaryHeaders = true;
              ObjectNode welcome = JSON.createObjectNode();
              welcome.put("type", "welcome");
              welcome.put("binaryHeaders", true);
              write(output, welcome);
            }
            continue;
          }
          if (headerBytes > 0 && bytes[0] == FrameHeaders.INVOKE_TAG) {
            FrameHeaders.Invoke header;
            try {
              header = FrameHeaders.readInvoke(bytes, 0, headerBytes);
            } catch (FrameHeaders.MalformedHeader e) {
              refuse(output, Status.Code.INVALID_ARGUMENT.value(), e.getMessage());
              return;
            }
            invoke(output, header.id(), header.sandbox(), header.requestId(), (int) header.timeoutMs(), header.httpRequest(), payload);
          } else {
            JsonNode header = JSON.readTree(bytes, 0, headerBytes);
            invoke(
                output,
                header.path("id").asLong(-1),
                header.path("sandbox").asText(),
                header.path("requestId").asText(),
                header.path("timeoutMs").asInt(0),
                header.path("format").asText("json").equals("http-request"),
                payload);
          }
        }
      }
    } catch (EOFException | ClosedChannelException done) {
      // The sidecar closed it.
    } catch (IOException e) {
      // A broken connection; the sidecar fails what it had sent on it.
    } finally {
      helloDeadline.cancel(false);
      connections.remove(channel);
      closeQuietly(channel);
    }
  }

  /**
   * Hands one invocation to its Sandbox; its answer goes out from the thread
   * the function finishes on, with the headers this connection speaks.
   */
  private void invoke(
      FrameOutput output,
      double id,
      String sandbox,
      String requestId,
      int timeoutMs,
      boolean httpRequest,
      ByteString payload) {
    if (httpRequest) {
      // The sidecar builds the function URL event for a Java function; a compact HTTP request here is a peer out of step.
      reject(output, id, new BridgeError(ErrorCode.ROOST_JAVA_BAD_REQUEST, "the bridge takes the event as JSON, not a compact HTTP request"));
      return;
    }
    BridgeInvokeRequest request =
        BridgeInvokeRequest.newBuilder()
            .setSandboxId(sandbox)
            .setRequestId(requestId)
            .setTimeoutMs(timeoutMs)
            .setPayload(payload)
            .build();
    try {
      sandboxes.invoke(request, answer -> answer(output, id, answer));
    } catch (BridgeError e) {
      reject(output, id, e);
    }
  }

  private void reject(FrameOutput output, double id, BridgeError e) {
    int code = Status.Code.valueOf(e.code().grpcStatus()).value();
    if (output.binaryHeaders) {
      write(output, FrameHeaders.rejection(id, code, e.getMessage(), true, e.code().name()), ByteString.EMPTY);
      return;
    }
    ObjectNode frame = JSON.createObjectNode();
    frame.put("id", (long) id);
    ObjectNode rejection = frame.putObject("rejection");
    rejection.put("code", code);
    rejection.put("message", e.getMessage());
    rejection.put("notInvoked", true);
    rejection.put("errorCode", e.code().name());
    write(output, frame);
  }

  private void answer(FrameOutput output, double id, InvokeResponse answer) {
    // A frame the sidecar would refuse would end the connection under every
    // other invocation on it: a result that large fails alone, as Node's do.
    if (answer.getResult().size() > MAX_RESULT_BYTES)
      answer =
          answer.toBuilder()
              .setResult(ByteString.EMPTY)
              .setError(FunctionError.FUNCTION_ERROR_UNHANDLED)
              .setErrorType("ResultTooLarge")
              .setErrorMessage(
                  "the result of " + answer.getResult().size() + " bytes is over the limit of " + MAX_RESULT_BYTES + " bytes")
              .clearStackTrace()
              .build();
    if (output.binaryHeaders) {
      write(output, FrameHeaders.result(id, answer), answer.getResult());
      return;
    }
    ObjectNode frame = JSON.createObjectNode();
    frame.put("id", (long) id);
    frame.put("error", answer.getError().name());
    // Every field, as a gRPC answer's reader sees them (absent is its default value there).
    frame.put("errorType", answer.getErrorType());
    frame.put("errorMessage", answer.getErrorMessage());
    ArrayNode trace = frame.putArray("stackTrace");
    for (String line : answer.getStackTraceList()) trace.add(line);
    frame.put("durationMs", answer.getDurationMs());
    frame.put("memoryBytes", answer.getMemoryBytes());
    frame.put("coldStart", answer.getColdStart());
    frame.put("cpuMicros", answer.getCpuMicros());
    frame.put("logTail", answer.getLogTail());
    write(output, frame, answer.getResult());
  }

  private void refuse(FrameOutput output, int grpcCode, String message) {
    ObjectNode frame = JSON.createObjectNode();
    frame.put("type", "refused");
    frame.put("code", grpcCode);
    frame.put("message", message);
    write(output, frame);
  }

  private void write(FrameOutput output, ObjectNode header) {
    write(output, header, ByteString.EMPTY);
  }

  private void write(FrameOutput output, ObjectNode header, ByteString body) {
    byte[] json;
    try {
      json = JSON.writeValueAsBytes(header);
    } catch (IOException e) {
      output.close();
      return;
    }
    output.send(json, json.length, body);
  }

  private static void write(FrameOutput output, FrameHeaders.Writer header, ByteString body) {
    output.send(header.array(), header.length(), body);
  }

  private boolean tokenMatches(String given) {
    return MessageDigest.isEqual(secret, given.getBytes(StandardCharsets.UTF_8));
  }

  private static void closeQuietly(SocketChannel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // Already closed.
    }
  }
}
