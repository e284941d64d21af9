package io.membudget.internal;

/**
 * Chooses and loads the {@link NativeAbi} backend once per JVM.
 *
 * <p>On Java 22+ the jar's {@code META-INF/versions/22} classes provide {@code FfmAbi}, the
 * Foreign Function &amp; Memory backend, and it is the default; on Java 17-21 (or when the jar
 * was built without them) {@link JnaAbi} is. {@value #PROPERTY}{@code =ffm|jna|auto} forces a
 * choice (for tests and comparisons); a forced backend that cannot load is an error, never a
 * silent fall-back to the other.
 */
public final class Backends {
    /** The system property that forces a backend: {@code ffm}, {@code jna} or {@code auto}. */
    public static final String PROPERTY = "membudget.backend";

    /** The major ABI version this binding is written against ({@code MB_ABI_VERSION >> 16}). */
    static final int ABI_MAJOR = 1;
    /** The least minor version it needs (1.1: plan options, quotas from the environment, refusals; 1.2: child budgets). */
    static final int ABI_MINOR = 2;

    private static volatile NativeAbi abi;
    private static volatile UnsatisfiedLinkError failure;

    private Backends() {}

    /**
     * The loaded backend, loading it on first use.
     *
     * @throws UnsatisfiedLinkError if the library cannot be found or loaded, implements another
     *     major ABI version, or {@value #PROPERTY} names a backend this JVM cannot run (thrown
     *     again, with the same message, at every later call)
     */
    public static NativeAbi abi() {
        NativeAbi a = abi;
        return a != null ? a : load();
    }

    /** Whether this JVM and jar can run the Foreign Function &amp; Memory backend. */
    public static boolean ffmAvailable() {
        return ForeignBackend.available();
    }

    /**
     * The backend to use: {@code "ffm"} or {@code "jna"}.
     *
     * @param wanted the value of {@value #PROPERTY}, or {@code null} when unset
     * @param javaFeature this JVM's feature version ({@code Runtime.version().feature()})
     * @param ffmAvailable whether the FFM classes are loadable ({@link #ffmAvailable()})
     * @throws UnsatisfiedLinkError if {@code wanted} is unknown, or {@code ffm} cannot run here
     */
    public static String choose(String wanted, int javaFeature, boolean ffmAvailable) {
        String w = wanted == null ? "auto" : wanted;
        switch (w) {
            case "auto":
                return ffmAvailable ? "ffm" : "jna";
            case "jna":
                return "jna";
            case "ffm":
                if (ffmAvailable) {
                    return "ffm";
                }
                throw new UnsatisfiedLinkError("-D" + PROPERTY + "=ffm: "
                        + (javaFeature < ForeignBackend.JAVA_FEATURE
                                ? "the Foreign Function & Memory backend needs Java "
                                        + ForeignBackend.JAVA_FEATURE + "+, this JVM is Java " + javaFeature
                                : "the membudget jar on the class path has no META-INF/versions/"
                                        + ForeignBackend.JAVA_FEATURE + " classes (built without a JDK "
                                        + ForeignBackend.JAVA_FEATURE + "+, or its classes are not loaded"
                                        + " from the multi-release jar)")
                        + "; use -D" + PROPERTY + "=jna or unset it");
            default:
                throw new UnsatisfiedLinkError("-D" + PROPERTY + "=" + w
                        + " is not a membudget backend; use ffm (Java " + ForeignBackend.JAVA_FEATURE
                        + "+), jna, or auto (the default: ffm where available, else jna)");
        }
    }

    private static synchronized NativeAbi load() {
        if (abi != null) {
            return abi;
        }
        if (failure != null) {
            UnsatisfiedLinkError again = new UnsatisfiedLinkError(failure.getMessage());
            again.initCause(failure);
            throw again;
        }
        try {
            String name = choose(System.getProperty(PROPERTY), Runtime.version().feature(),
                    ForeignBackend.available());
            NativeLibraryLocator.Located located = NativeLibraryLocator.locate();
            NativeAbi a = name.equals("ffm") ? ForeignBackend.load(located) : JnaAbi.load(located);
            int version = a.abiVersion();
            if (version >>> 16 != ABI_MAJOR || (version & 0xFFFF) < ABI_MINOR) {
                throw new UnsatisfiedLinkError("libmembudget (" + a.librarySource() + ") implements ABI "
                        + (version >>> 16) + "." + (version & 0xFFFF) + "; this binding needs "
                        + ABI_MAJOR + "." + ABI_MINOR + " or a later " + ABI_MAJOR + ".x");
            }
            abi = a;
            return a;
        } catch (UnsatisfiedLinkError e) {
            failure = e;
            throw e;
        }
    }
}
