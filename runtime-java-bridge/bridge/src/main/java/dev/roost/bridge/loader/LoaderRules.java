package dev.roost.bridge.loader;

import java.util.HashSet;
import java.util.Set;

/**
 * Which classes a function's loader takes from somewhere other than its own
 * jar. Everything not named here comes from the function's jar (child-first),
 * and if the jar lacks it, the function does not see it at all: the bridge's
 * own libraries (gRPC, Netty, protobuf, Jackson, ASM) stay invisible.
 */
final class LoaderRules {
  /**
   * Parent-first from the bridge: the handler API of aws-lambda-java-core, so the
   * Context and RequestHandler a function links against are the bridge's even
   * when a fat jar bundles its own copy, and the guest package that rewritten
   * System.exit / getenv calls land in.
   */
  private static final Set<String> SHARED_PACKAGES =
      Set.of(
          "com.amazonaws.services.lambda.runtime",
          "com.amazonaws.services.lambda.runtime.logging",
          "dev.roost.bridge.guest");

  private static volatile Set<String> jdkPackages;

  private LoaderRules() {}

  static boolean isShared(String packageName) {
    return SHARED_PACKAGES.contains(packageName);
  }

  /**
   * Parent-first from the platform loader: every package of a JDK module that
   * the boot or platform loader defines (java.*, javax.*, jdk.*, org.w3c.dom,
   * ...), so a jar can never replace part of the JDK.
   */
  static boolean isJdk(String packageName) {
    Set<String> packages = jdkPackages;
    if (packages == null) packages = jdkPackages = collectJdkPackages();
    return packages.contains(packageName);
  }

  static String packageOf(String className) {
    int dot = className.lastIndexOf('.');
    return dot < 0 ? "" : className.substring(0, dot);
  }

  private static Set<String> collectJdkPackages() {
    ClassLoader platform = ClassLoader.getPlatformClassLoader();
    Set<String> packages = new HashSet<>();
    for (Module module : ModuleLayer.boot().modules()) {
      ClassLoader loader = module.getClassLoader();
      if (loader == null || loader == platform) packages.addAll(module.getPackages());
    }
    return Set.copyOf(packages);
  }
}
