package io.membudget;

/**
 * Whether a {@link Buffer}'s {@code ByteBuffer} is revoked when the buffer is closed:
 * {@value #PROPERTY}{@code =true|false}, default {@code false}, read once per JVM.
 *
 * <p>Revoking needs the Foreign Function &amp; Memory backend (Java 22+) and costs a JVM-wide
 * thread handshake per closed view (a shared arena's close: 16-25 microseconds measured, against
 * about 0.1 microseconds for a whole request and recycle), so it is off for network buffers,
 * which come and go per record batch: turn it on to catch a use after close in tests, as
 * Netty's paranoid leak detection is used. Managed pages, released rarely and in bulk, are
 * always revoked on FFM.
 */
final class BufferViews {
    /** The system property. */
    static final String PROPERTY = "membudget.revokeBufferViews";

    private static final System.Logger LOG = System.getLogger("io.membudget");

    private static volatile Boolean revoke;
    private static volatile boolean warned;

    private BufferViews() {}

    /**
     * The setting.
     *
     * @throws InvalidArgumentException if the property is neither {@code true} nor {@code false}
     */
    static boolean revoke() {
        Boolean r = revoke;
        if (r == null) {
            r = parse(System.getProperty(PROPERTY));
            revoke = r;
        }
        return r;
    }

    /** Called when a view was asked to be revocable and the backend made one that is not. */
    static void cannotRevoke(String backend) {
        if (!warned) {
            warned = true;
            LOG.log(System.Logger.Level.WARNING, "membudget: -D" + PROPERTY + "=true has no effect: the "
                    + backend + " backend cannot revoke a ByteBuffer (that needs Java 22+ and the"
                    + " Foreign Function & Memory backend)");
        }
    }

    static boolean parse(String value) {
        if (value == null || value.equals("false")) {
            return false;
        }
        if (value.equals("true")) {
            return true;
        }
        throw new InvalidArgumentException("-D" + PROPERTY + "=" + value + " is not a boolean; use true"
                + " (revoke a buffer's ByteBuffer when it is closed, Java 22+) or false (the default)");
    }
}
