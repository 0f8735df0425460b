package dev.roost.bridge.sandbox;

import dev.roost.bridge.handler.HandlerAdapter;
import dev.roost.bridge.invoke.HardStop;
import dev.roost.bridge.invoke.InvocationContext;
import dev.roost.bridge.invoke.Outcomes;
import dev.roost.bridge.invoke.ThreadAccounting;
import dev.roost.bridge.invoke.Watchdog;
import dev.roost.bridge.logs.LogContext;
import dev.roost.bridge.logs.OutputRouter;
import dev.roost.v1alpha1.InvokeResponse;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * One call of a function, run on one of its executor's threads.
 *
 * <p>The answer is sent exactly once: by the function's thread when the
 * handler returns or throws, or by the watchdog when the timeout passes first.
 * After a timeout the thread is interrupted; if it is still in this invocation
 * after {@link #INTERRUPT_GRACE_MS} it is hard-stopped; if it is still here
 * {@link #STOP_GRACE_MS} later, the function is declared stuck, and failed.
 * {@code lock} makes "is it still in this invocation" and "stop it" one step,
 * so a stop never lands in the next invocation the thread picks up.
 */
final class Invocation implements Runnable {
  static final long INTERRUPT_GRACE_MS = 200;
  static final long STOP_GRACE_MS = 2_000;

  /** What an invocation needs from the registry when it goes badly. */
  interface Failures {
    void outOfMemory(Sandbox sandbox, OutOfMemoryError error);

    void stuck(Sandbox sandbox, String message);
  }

  private final Sandbox sandbox;
  private final String requestId;
  private final byte[] payload;
  private final long timeoutMs;
  private final Consumer<InvokeResponse> reply;
  private final Watchdog watchdog;
  private final Failures failures;
  private final AtomicBoolean answered = new AtomicBoolean();
  private final Object lock = new Object();
  private Thread thread;
  private boolean finished;
  private long startNanos;

  Invocation(
      Sandbox sandbox,
      String requestId,
      byte[] payload,
      long timeoutMs,
      Consumer<InvokeResponse> reply,
      Watchdog watchdog,
      Failures failures) {
    this.sandbox = sandbox;
    this.requestId = requestId;
    this.payload = payload;
    this.timeoutMs = timeoutMs;
    this.reply = reply;
    this.watchdog = watchdog;
    this.failures = failures;
  }

  @Override
  public void run() {
    HandlerAdapter handler = sandbox.handler;
    synchronized (lock) {
      thread = Thread.currentThread();
      startNanos = System.nanoTime();
    }
    sandbox.inFlight.add(this);
    boolean coldStart = sandbox.takeColdStart();
    ScheduledFuture<?> timeout = watchdog.after(timeoutMs, this::onTimeout);
    LogContext.enter(sandbox.log, requestId);
    long cpuStart = ThreadAccounting.cpuNanos();
    long allocatedStart = ThreadAccounting.allocatedBytes();
    InvokeResponse.Builder outcome;
    OutOfMemoryError outOfMemory = null;
    ThreadDeath stopped = null;
    try {
      InvocationContext context =
          new InvocationContext(
              requestId,
              sandbox.id.namespace(),
              sandbox.id.name(),
              sandbox.spec.functionName(),
              sandbox.spec.functionVersion(),
              sandbox.spec.memoryMiB(),
              startNanos + timeoutMs * 1_000_000,
              sandbox.logger);
      outcome = Outcomes.success(handler.invoke(payload, context));
    } catch (OutOfMemoryError e) {
      SandboxRelease.releaseOomReserve();
      outOfMemory = e;
      outcome = Outcomes.outOfMemory(e);
    } catch (ThreadDeath e) {
      stopped = e;
      outcome = Outcomes.crashed("the invocation's thread was stopped");
    } catch (Throwable e) {
      outcome = Outcomes.unhandled(e);
    }
    synchronized (lock) {
      finished = true;
    }
    timeout.cancel(false);
    OutputRouter.flushPartialLines();
    LogContext.exit();
    sandbox.inFlight.remove(this);
    answer(
        outcome
            .setDurationMs((System.nanoTime() - startNanos) / 1e6)
            .setCpuMicros((ThreadAccounting.cpuNanos() - cpuStart) / 1_000)
            .setMemoryBytes(ThreadAccounting.allocatedBytes() - allocatedStart)
            .setColdStart(coldStart));
    if (outOfMemory != null) failures.outOfMemory(sandbox, outOfMemory);
    // A stopped thread is not trusted with more work: let the executor replace it.
    if (stopped != null) throw stopped;
  }

  /** Answers CRASHED for an invocation still running when its Sandbox is unloaded. */
  void abort(String why) {
    answer(Outcomes.crashed(why).setDurationMs(elapsedMs()));
  }

  private void onTimeout() {
    Thread running;
    synchronized (lock) {
      if (finished) return;
      running = thread;
    }
    answer(
        Outcomes.timeout(timeoutMs)
            .setDurationMs(elapsedMs())
            .setCpuMicros(Math.max(0, ThreadAccounting.cpuNanos(running)) / 1_000));
    synchronized (lock) {
      if (finished) return;
      running.interrupt();
    }
    watchdog.after(INTERRUPT_GRACE_MS, this::hardStopIfStillRunning);
  }

  private void hardStopIfStillRunning() {
    boolean delivered;
    synchronized (lock) {
      if (finished) return;
      delivered = HardStop.stop(thread);
    }
    if (!delivered) {
      failures.stuck(sandbox, stuckMessage("ignored its interrupt and this JDK cannot stop threads"));
      return;
    }
    watchdog.after(STOP_GRACE_MS, this::declareStuckIfStillRunning);
  }

  private void declareStuckIfStillRunning() {
    synchronized (lock) {
      if (finished) return;
    }
    failures.stuck(sandbox, stuckMessage("would not stop (it caught ThreadDeath or is in native code)"));
  }

  private String stuckMessage(String what) {
    return "invocation " + requestId + " ran past its timeout of " + timeoutMs + " ms and " + what
        + "; thread " + thread.getName();
  }

  private double elapsedMs() {
    synchronized (lock) {
      return startNanos == 0 ? 0 : (System.nanoTime() - startNanos) / 1e6;
    }
  }

  private void answer(InvokeResponse.Builder response) {
    if (answered.compareAndSet(false, true)) reply.accept(response.build());
  }
}
