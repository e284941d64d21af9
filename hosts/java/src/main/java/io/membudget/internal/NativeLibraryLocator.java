package io.membudget.internal;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.function.Function;

/**
 * Finds libmembudget for a backend, in this order (like Netty's native loader):
 *
 * <ol>
 *   <li>the system property {@value #PROPERTY}: the library file itself, or a directory holding
 *       it. When set it is authoritative: a wrong value is an error, never skipped;
 *   <li>each directory of {@code java.library.path};
 *   <li>the copy bundled in the jar at {@code META-INF/native/<os>-<arch>/<library file>},
 *       extracted to a temporary file (deleted at exit).
 * </ol>
 */
public final class NativeLibraryLocator {
    /** The system property that names the library file or its directory. */
    public static final String PROPERTY = "membudget.library.path";

    /** The platform's file name of the library ({@code libmembudget.so} on Linux). */
    public static final String FILE_NAME = System.mapLibraryName("membudget");

    private NativeLibraryLocator() {}

    /**
     * A library file and where it came from.
     *
     * @param path the file to load
     * @param source how it was found, for messages
     */
    public record Located(Path path, String source) {}

    /** Finds the library for this JVM's properties and class path. */
    public static Located locate() {
        return locate(
                System.getProperty(PROPERTY),
                System.getProperty("java.library.path", ""),
                resource -> NativeLibraryLocator.class.getResourceAsStream("/" + resource));
    }

    /**
     * Finds the library given the property value (or {@code null}), {@code java.library.path},
     * and a way to open a class-path resource (returning {@code null} when absent).
     *
     * @throws UnsatisfiedLinkError when no step finds it, naming every place looked at
     */
    public static Located locate(
            String property, String javaLibraryPath, Function<String, InputStream> resources) {
        if (property != null) {
            Path p = Path.of(property);
            Path file = Files.isDirectory(p) ? p.resolve(FILE_NAME) : p;
            if (!Files.isRegularFile(file)) {
                throw new UnsatisfiedLinkError(
                        "-D" + PROPERTY + "=" + property + " names no " + FILE_NAME + " (looked for "
                                + file + "); set it to the library file or its directory, or unset"
                                + " it to search java.library.path and the jar's bundled copy");
            }
            return new Located(file, "-D" + PROPERTY + "=" + property + " (" + file + ")");
        }
        for (String dir : javaLibraryPath.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path file = Path.of(dir).resolve(FILE_NAME);
            if (Files.isRegularFile(file)) {
                return new Located(file, "java.library.path entry " + file);
            }
        }
        String resource = bundledResource();
        try (InputStream in = resources.apply(resource)) {
            if (in != null) {
                Path tmp = Files.createTempFile("membudget-", "-" + FILE_NAME);
                tmp.toFile().deleteOnExit();
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                return new Located(tmp, "bundled copy " + resource + " (extracted to " + tmp + ")");
            }
        } catch (IOException e) {
            UnsatisfiedLinkError error = new UnsatisfiedLinkError(
                    "cannot extract the bundled " + resource + ": " + e.getMessage());
            error.initCause(e);
            throw error;
        }
        throw new UnsatisfiedLinkError(
                FILE_NAME + " not found: -D" + PROPERTY + " is not set, no java.library.path entry ("
                        + javaLibraryPath + ") holds it, and the jar has no bundled " + resource
                        + ". Set -D" + PROPERTY + "=<file or directory>.");
    }

    /** The class-path resource of the bundled library for this platform. */
    public static String bundledResource() {
        return "META-INF/native/" + platform() + "/" + FILE_NAME;
    }

    /** {@code <os>-<arch>} as JNA spells it: {@code linux-x86-64}, {@code linux-aarch64}, ... */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.startsWith("linux") ? "linux"
                : os.startsWith("mac") ? "darwin"
                : os.startsWith("windows") ? "win32"
                : os.replace(' ', '-');
        String a = switch (arch) {
            case "amd64", "x86_64" -> "x86-64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
        return o + "-" + a;
    }
}
