package dev.roost.bridge.loader;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.security.ProtectionDomain;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.zip.ZipFile;

/**
 * The class loader of one Sandbox: its jar child-first, the JDK and the shared
 * handler API parent-first (see {@link LoaderRules}), nothing of the bridge.
 * Every class it defines passes through {@link BytecodeRewriter}, so calls to
 * System.exit, Runtime.halt, System.getenv and shutdown hooks reach the
 * {@code dev.roost.bridge.guest.Guard} instead of the JVM.
 *
 * <p>It reads class bytes from a JarFile of its own, opened once and closed by
 * {@link #close()}, rather than through jar: URLs, whose connection cache would
 * keep the file open after the loader is gone.
 */
public final class FunctionClassLoader extends URLClassLoader {
  static {
    registerAsParallelCapable();
  }

  private static final ClassLoader PLATFORM = ClassLoader.getPlatformClassLoader();
  private static final ClassLoader BRIDGE = FunctionClassLoader.class.getClassLoader();

  private final Path jarPath;
  private final JarFile jar;
  private final Manifest manifest;
  private final URL jarUrl;
  private final ProtectionDomain domain;
  private final GuestState guest;
  private volatile boolean linkedJdbc;

  private FunctionClassLoader(String name, Path jarPath, URL jarUrl, JarFile jar, GuestState guest)
      throws IOException {
    super(name, new URL[] {jarUrl}, PLATFORM);
    this.jarPath = jarPath;
    this.jar = jar;
    this.jarUrl = jarUrl;
    this.manifest = jar.getManifest();
    this.domain = new ProtectionDomain(new CodeSource(jarUrl, (Certificate[]) null), null, this, null);
    this.guest = guest;
  }

  /**
   * Opens {@code jarPath} for one Sandbox.
   *
   * @throws IOException if the file is not a readable jar
   */
  public static FunctionClassLoader open(String sandboxId, Path jarPath, Map<String, String> env, ThreadGroup threads)
      throws IOException {
    Path path = jarPath.toAbsolutePath();
    JarFile jar = new JarFile(path.toFile(), true, ZipFile.OPEN_READ, Runtime.version());
    try {
      return new FunctionClassLoader(
          "roost-fn " + sandboxId, path, path.toUri().toURL(), jar, new GuestState(sandboxId, env, threads));
    } catch (IOException | RuntimeException e) {
      jar.close();
      throw e;
    }
  }

  public Path jarPath() {
    return jarPath;
  }

  public GuestState guest() {
    return guest;
  }

  /** Whether function code linked against java.sql, and so may have registered JDBC drivers. */
  public boolean linkedJdbc() {
    return linkedJdbc;
  }

  /** Removes the shutdown hooks the function registered; returns how many. */
  public int removeShutdownHooks() {
    return guest.removeShutdownHooks();
  }

  @Override
  protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
    synchronized (getClassLoadingLock(name)) {
      Class<?> found = findLoadedClass(name);
      if (found == null) found = locate(name);
      if (resolve) resolveClass(found);
      return found;
    }
  }

  private Class<?> locate(String name) throws ClassNotFoundException {
    String packageName = LoaderRules.packageOf(name);
    if (LoaderRules.isShared(packageName)) {
      try {
        return BRIDGE.loadClass(name);
      } catch (ClassNotFoundException newerThanTheBridge) {
        // A class of a newer aws-lambda-java-core than the bridge's: the jar's own copy.
      }
    } else if (LoaderRules.isJdk(packageName)) {
      if (packageName.equals("java.sql")) linkedJdbc = true;
      try {
        return PLATFORM.loadClass(name);
      } catch (ClassNotFoundException notInTheJdk) {
        if (name.startsWith("java.")) throw notInTheJdk;
      }
    }
    Class<?> own = defineFromJar(name);
    if (own != null) return own;
    throw new ClassNotFoundException(
        name + " is not in " + jarPath + " (a function sees its own jar, the JDK and aws-lambda-java-core)");
  }

  @Override
  protected Class<?> findClass(String name) throws ClassNotFoundException {
    Class<?> own = defineFromJar(name);
    if (own == null) throw new ClassNotFoundException(name + " is not in " + jarPath);
    return own;
  }

  /**
   * Defines a helper class from bytes the bridge supplies (for example the JDBC
   * clean-up, which must run as function code to see the function's drivers).
   */
  public Class<?> defineHelper(String name, byte[] bytes) {
    synchronized (getClassLoadingLock(name)) {
      Class<?> existing = findLoadedClass(name);
      if (existing != null) return existing;
      definePackageIfAbsent(LoaderRules.packageOf(name));
      return defineClass(name, bytes, 0, bytes.length, domain);
    }
  }

  private Class<?> defineFromJar(String name) throws ClassNotFoundException {
    JarEntry entry = jar.getJarEntry(name.replace('.', '/') + ".class");
    if (entry == null) return null;
    byte[] bytes;
    try (InputStream in = jar.getInputStream(entry)) {
      bytes = in.readAllBytes();
    } catch (IOException | IllegalStateException e) {
      throw new ClassNotFoundException("Cannot read " + name + " from " + jarPath + ": " + e.getMessage(), e);
    }
    bytes = BytecodeRewriter.rewrite(bytes);
    definePackageIfAbsent(LoaderRules.packageOf(name));
    return defineClass(name, bytes, 0, bytes.length, domain);
  }

  private void definePackageIfAbsent(String packageName) {
    if (packageName.isEmpty() || getDefinedPackage(packageName) != null) return;
    try {
      if (manifest != null) definePackage(packageName, manifest, jarUrl);
      else definePackage(packageName, null, null, null, null, null, null, null);
    } catch (IllegalArgumentException definedConcurrently) {
      // Another thread defined it first; the loader is parallel capable.
    }
  }

  /** Child-first, like classes: the function's own resource wins over the JDK's. */
  @Override
  public URL getResource(String name) {
    URL own = findResource(name);
    return own != null ? own : PLATFORM.getResource(name);
  }

  @Override
  public Enumeration<URL> getResources(String name) throws IOException {
    List<URL> urls = new ArrayList<>(Collections.list(findResources(name)));
    urls.addAll(Collections.list(PLATFORM.getResources(name)));
    return Collections.enumeration(urls);
  }

  /** Straight from the open jar: no jar: URL connection, so nothing cached outlives the loader. */
  @Override
  public InputStream getResourceAsStream(String name) {
    JarEntry entry = jar.getJarEntry(name);
    if (entry != null && !entry.isDirectory()) {
      try (InputStream in = jar.getInputStream(entry)) {
        return new ByteArrayInputStream(in.readAllBytes());
      } catch (IOException | IllegalStateException closed) {
        return null;
      }
    }
    return PLATFORM.getResourceAsStream(name);
  }

  /** Closes the jar; classes already defined keep working, new ones cannot be loaded. */
  @Override
  public void close() throws IOException {
    try {
      jar.close();
    } finally {
      super.close();
    }
  }

  /** True if the file looks like a jar at all, for an early, clear error. */
  public static boolean isReadableFile(Path path) {
    return Files.isRegularFile(path) && Files.isReadable(path);
  }
}
