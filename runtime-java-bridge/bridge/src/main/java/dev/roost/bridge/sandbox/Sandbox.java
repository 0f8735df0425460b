package dev.roost.bridge.sandbox;

import dev.roost.bridge.BridgeError;
import dev.roost.bridge.BridgeThreads;
import dev.roost.bridge.ErrorCode;
import dev.roost.bridge.handler.HandlerAdapter;
import dev.roost.bridge.handler.HandlerResolver;
import dev.roost.bridge.handler.HandlerSpec;
import dev.roost.bridge.handler.JsonCodec;
import dev.roost.bridge.loader.FunctionClassLoader;
import dev.roost.bridge.logs.FunctionLogger;
import dev.roost.bridge.logs.SandboxLog;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * One loaded function: its class loader, its thread group, its executor (the
 * concurrency limit and the bounded queue) and its handler. Everything that
 * references the loader hangs off this object and is dropped by
 * {@link SandboxRelease}, so that once the registry forgets the Sandbox, the
 * loader can be collected.
 */
final class Sandbox {
  enum State {
    LOADING,
    READY,
    UNLOADING,
    UNLOADED
  }

  /** Idle workers end after this, so a quiet function holds no thread. */
  private static final long IDLE_THREAD_MS = 30_000;

  final SandboxId id;
  final SandboxSpec spec;
  final SandboxLog log;
  final FunctionLogger logger;
  final Set<Invocation> inFlight = ConcurrentHashMap.newKeySet();
  final CompletableFuture<SandboxRelease.Report> released = new CompletableFuture<>();
  private final AtomicReference<State> state = new AtomicReference<>(State.LOADING);
  private final AtomicBoolean invokedOnce = new AtomicBoolean();

  volatile FunctionClassLoader loader;
  volatile FunctionThreadGroup threads;
  volatile ThreadPoolExecutor executor;
  volatile HandlerAdapter handler;

  Sandbox(SandboxId id, SandboxSpec spec, SandboxLog log) {
    this.id = id;
    this.spec = spec;
    this.log = log;
    this.logger = new FunctionLogger(log);
  }

  /**
   * Opens the jar in a new loader and starts the health call: on one of the
   * function's own threads, load the handler class, create its instance and
   * prepare its JSON reader and writer. {@code done} hears once, on that
   * thread, the handler or what the call threw; the caller bounds the wait
   * (the function's timeout) and decides with {@link #becomeReady}.
   *
   * @throws BridgeError if the jar cannot be opened
   */
  void startLoad(Path jar, HandlerSpec handlerSpec, Consumer<OutOfMemoryError> onOutOfMemory, HealthCall done)
      throws BridgeError {
    threads = new FunctionThreadGroup(id, log, onOutOfMemory);
    try {
      loader = FunctionClassLoader.open(id.toString(), jar, spec.env(), threads);
    } catch (IOException e) {
      throw new BridgeError(ErrorCode.ROOST_JAVA_JAR_UNREADABLE, "cannot open " + jar + " as a jar: " + e.getMessage(), e);
    }
    executor = newExecutor();
    FunctionClassLoader functionLoader = loader;
    executor.execute(
        () -> {
          HandlerAdapter resolved;
          try {
            resolved = HandlerResolver.resolve(handlerSpec, functionLoader, jar.toString(), new JsonCodec(functionLoader));
          } catch (Throwable e) {
            done.failed(e);
            return;
          }
          done.resolved(resolved);
        });
  }

  /** What the health call of {@link #startLoad} hears, on the function's thread. */
  interface HealthCall {
    void resolved(HandlerAdapter handler);

    /** A BridgeError that names the cause, or whatever the function's code threw. */
    void failed(Throwable error);
  }

  /** The health call succeeded: take invocations from now on. */
  void becomeReady(HandlerAdapter resolved) {
    handler = resolved;
    state.compareAndSet(State.LOADING, State.READY);
  }

  /** Queues an invocation, or says why it cannot run here. */
  void submit(Invocation invocation) throws BridgeError {
    State now = state.get();
    if (now != State.READY)
      throw new BridgeError(ErrorCode.ROOST_JAVA_SANDBOX_NOT_READY, "Sandbox " + id + " is " + describe(now));
    try {
      executor.execute(invocation);
    } catch (RejectedExecutionException | NullPointerException e) {
      if (state.get() != State.READY)
        throw new BridgeError(ErrorCode.ROOST_JAVA_SANDBOX_NOT_READY, "Sandbox " + id + " is " + describe(state.get()));
      throw new BridgeError(
          ErrorCode.ROOST_JAVA_QUEUE_FULL,
          "Sandbox " + id + " has " + spec.concurrency() + " invocations running and " + spec.maxQueued()
              + " waiting, its most; retry later or elsewhere");
    }
  }

  /** True for the first invocation after Load, which is its cold start. */
  boolean takeColdStart() {
    return invokedOnce.compareAndSet(false, true);
  }

  /** READY to UNLOADING; false if it was not ready (already unloading, or still loading). */
  boolean beginUnload() {
    return state.compareAndSet(State.READY, State.UNLOADING);
  }

  /** For a Load that failed half-way. */
  void abandonLoad() {
    state.set(State.UNLOADING);
  }

  void markUnloaded() {
    state.set(State.UNLOADED);
  }

  State state() {
    return state.get();
  }

  private ThreadPoolExecutor newExecutor() {
    int concurrency = spec.concurrency();
    BlockingQueue<Runnable> queue =
        spec.maxQueued() == 0 ? new SynchronousQueue<>() : new ArrayBlockingQueue<>(spec.maxQueued());
    AtomicInteger count = new AtomicInteger();
    FunctionThreadGroup group = threads;
    FunctionClassLoader functionLoader = loader;
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            concurrency,
            concurrency,
            IDLE_THREAD_MS,
            TimeUnit.MILLISECONDS,
            queue,
            task -> {
              String name = "roost-fn-" + id + "-" + count.incrementAndGet();
              // Nothing inherited from the creating thread: no thread locals, no access-control context.
              Thread worker = BridgeThreads.cleanContext(() -> new Worker(group, task, name));
              worker.setDaemon(true);
              worker.setContextClassLoader(functionLoader);
              return worker;
            });
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  /**
   * A thread of the function's executor. Its own class tells it apart from
   * threads the function started (which cannot create one: the class is not
   * visible to functions).
   */
  static final class Worker extends Thread {
    Worker(ThreadGroup group, Runnable task, String name) {
      super(group, task, name, 0, false);
    }
  }

  private static String describe(State state) {
    return switch (state) {
      case LOADING -> "still loading";
      case READY -> "ready";
      case UNLOADING -> "unloading";
      case UNLOADED -> "unloaded";
    };
  }
}
