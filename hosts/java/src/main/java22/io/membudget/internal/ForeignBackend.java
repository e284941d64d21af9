package io.membudget.internal;

/**
 * The Foreign Function &amp; Memory backend's entry point on Java 22+ (this class replaces the
 * base version of the same name in the multi-release jar): {@code FfmAbi} is available.
 */
final class ForeignBackend {
    /** The Java feature version the FFM backend is compiled for (the API is final in 22). */
    static final int JAVA_FEATURE = 22;

    /**
     * Whether {@link #load} works in this JVM: yes, this version of the class is Java 22+. A method, not a constant: javac
     * would copy a constant into its callers, and they would never see the other version.
     */
    static boolean available() {
        return true;
    }

    private ForeignBackend() {}

    /** Binds the located library through FFM downcall handles. */
    static NativeAbi load(NativeLibraryLocator.Located located) {
        return FfmAbi.load(located);
    }
}
