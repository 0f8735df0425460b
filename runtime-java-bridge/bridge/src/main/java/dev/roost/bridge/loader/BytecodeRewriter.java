package dev.roost.bridge.loader;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Handle;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

/**
 * Rewrites, as a function's class is defined, the calls that would reach
 * outside the function: System.exit, Runtime.exit and Runtime.halt would end
 * the JVM every function shares; System.getenv would show the bridge's
 * environment (its secret among it); Runtime.add/removeShutdownHook would
 * leave hooks behind that pin the function's loader after it is unloaded;
 * Thread.interrupt, stop and suspend (and ThreadGroup.interrupt) would reach
 * the bridge's threads and its neighbours' (only calls on a receiver typed
 * Thread or ThreadGroup are seen; one typed as a subclass is not).
 * Each call is replaced by a static call to {@code dev.roost.bridge.guest.Guard}
 * with the same stack effect, so stack map frames stay valid and no frames need
 * computing. Method references (invokedynamic and ldc handles) are rewritten
 * the same way.
 *
 * <p>This outlives the SecurityManager (gone after JDK 23), which is why it is
 * done here. Calls made through reflection or from classes the function defines
 * with a loader of its own are not seen.
 */
public final class BytecodeRewriter {
  static final String GUARD = "dev/roost/bridge/guest/Guard";

  private record Call(int opcode, String owner, String name, String descriptor) {}

  private record Replacement(String name, String descriptor) {}

  private static final Map<Call, Replacement> REPLACEMENTS =
      Map.ofEntries(
          Map.entry(
              new Call(Opcodes.INVOKESTATIC, "java/lang/System", "exit", "(I)V"),
              new Replacement("systemExit", "(I)V")),
          Map.entry(
              new Call(Opcodes.INVOKEVIRTUAL, "java/lang/Runtime", "exit", "(I)V"),
              new Replacement("runtimeExit", "(Ljava/lang/Runtime;I)V")),
          Map.entry(
              new Call(Opcodes.INVOKEVIRTUAL, "java/lang/Runtime", "halt", "(I)V"),
              new Replacement("runtimeHalt", "(Ljava/lang/Runtime;I)V")),
          Map.entry(
              new Call(Opcodes.INVOKESTATIC, "java/lang/System", "getenv", "()Ljava/util/Map;"),
              new Replacement("getenv", "()Ljava/util/Map;")),
          Map.entry(
              new Call(Opcodes.INVOKESTATIC, "java/lang/System", "getenv", "(Ljava/lang/String;)Ljava/lang/String;"),
              new Replacement("getenv", "(Ljava/lang/String;)Ljava/lang/String;")),
          Map.entry(
              new Call(Opcodes.INVOKEVIRTUAL, "java/lang/Runtime", "addShutdownHook", "(Ljava/lang/Thread;)V"),
              new Replacement("addShutdownHook", "(Ljava/lang/Runtime;Ljava/lang/Thread;)V")),
          Map.entry(
              new Call(Opcodes.INVOKEVIRTUAL, "java/lang/Runtime", "removeShutdownHook", "(Ljava/lang/Thread;)Z"),
              new Replacement("removeShutdownHook", "(Ljava/lang/Runtime;Ljava/lang/Thread;)Z")),
          // A function reaches every thread of the JVM (ThreadGroup.getParent, enumerate).
          Map.entry(
              new Call(Opcodes.INVOKEVIRTUAL, "java/lang/Thread", "interrupt", "()V"),
              new Replacement("threadInterrupt", "(Ljava/lang/Thread;)V")),
          Map.entry(
              new Call(Opcodes.INVOKEVIRTUAL, "java/lang/Thread", "stop", "()V"),
              new Replacement("threadStop", "(Ljava/lang/Thread;)V")),
          Map.entry(
              new Call(Opcodes.INVOKEVIRTUAL, "java/lang/Thread", "suspend", "()V"),
              new Replacement("threadSuspend", "(Ljava/lang/Thread;)V")),
          Map.entry(
              new Call(Opcodes.INVOKEVIRTUAL, "java/lang/ThreadGroup", "interrupt", "()V"),
              new Replacement("threadGroupInterrupt", "(Ljava/lang/ThreadGroup;)V")));

  /** Method names that must appear in a class's constant pool for it to need rewriting. */
  private static final byte[][] TELLTALES = {
    ascii("exit"), ascii("halt"), ascii("getenv"), ascii("ShutdownHook"), ascii("interrupt"), ascii("stop"), ascii("suspend")
  };

  private BytecodeRewriter() {}

  /** The class rewritten, or the same array when it calls none of the guarded methods. */
  public static byte[] rewrite(byte[] classBytes) {
    if (!mentionsGuardedName(classBytes)) return classBytes;
    ClassReader reader = new ClassReader(classBytes);
    ClassWriter writer = new ClassWriter(reader, 0);
    GuardingClassVisitor visitor = new GuardingClassVisitor(writer);
    reader.accept(visitor, 0);
    return visitor.changed ? writer.toByteArray() : classBytes;
  }

  /** A cheap scan that spares the ASM pass for the great majority of classes. */
  private static boolean mentionsGuardedName(byte[] bytes) {
    for (byte[] name : TELLTALES) if (indexOf(bytes, name) >= 0) return true;
    return false;
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i <= haystack.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) if (haystack[i + j] != needle[j]) continue outer;
      return i;
    }
    return -1;
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  private static Replacement replacementFor(int opcode, String owner, String name, String descriptor) {
    return REPLACEMENTS.get(new Call(opcode, owner, name, descriptor));
  }

  private static Object rewriteConstant(Object constant, GuardingClassVisitor visitor) {
    if (!(constant instanceof Handle handle)) return constant;
    int opcode =
        switch (handle.getTag()) {
          case Opcodes.H_INVOKESTATIC -> Opcodes.INVOKESTATIC;
          case Opcodes.H_INVOKEVIRTUAL -> Opcodes.INVOKEVIRTUAL;
          default -> -1;
        };
    Replacement replacement = replacementFor(opcode, handle.getOwner(), handle.getName(), handle.getDesc());
    if (replacement == null) return constant;
    visitor.changed = true;
    return new Handle(Opcodes.H_INVOKESTATIC, GUARD, replacement.name(), replacement.descriptor(), false);
  }

  private static final class GuardingClassVisitor extends ClassVisitor {
    boolean changed;

    GuardingClassVisitor(ClassVisitor next) {
      super(Opcodes.ASM9, next);
    }

    @Override
    public MethodVisitor visitMethod(
        int access, String name, String descriptor, String signature, String[] exceptions) {
      MethodVisitor next = super.visitMethod(access, name, descriptor, signature, exceptions);
      return new GuardingMethodVisitor(next, this);
    }
  }

  private static final class GuardingMethodVisitor extends MethodVisitor {
    private final GuardingClassVisitor owner;

    GuardingMethodVisitor(MethodVisitor next, GuardingClassVisitor owner) {
      super(Opcodes.ASM9, next);
      this.owner = owner;
    }

    @Override
    public void visitMethodInsn(
        int opcode, String callOwner, String name, String descriptor, boolean isInterface) {
      Replacement replacement = replacementFor(opcode, callOwner, name, descriptor);
      if (replacement == null) {
        super.visitMethodInsn(opcode, callOwner, name, descriptor, isInterface);
        return;
      }
      owner.changed = true;
      super.visitMethodInsn(Opcodes.INVOKESTATIC, GUARD, replacement.name(), replacement.descriptor(), false);
    }

    @Override
    public void visitInvokeDynamicInsn(
        String name, String descriptor, Handle bootstrap, Object... bootstrapArguments) {
      Object[] arguments = bootstrapArguments.clone();
      for (int i = 0; i < arguments.length; i++) arguments[i] = rewriteConstant(arguments[i], owner);
      super.visitInvokeDynamicInsn(name, descriptor, bootstrap, arguments);
    }

    @Override
    public void visitLdcInsn(Object value) {
      super.visitLdcInsn(rewriteConstant(value, owner));
    }
  }
}
