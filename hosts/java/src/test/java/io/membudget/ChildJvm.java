package io.membudget;

import io.membudget.internal.Backends;
import io.membudget.internal.NativeLibraryLocator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A command line for a child JVM like this one: same java, class path, library and backend. */
final class ChildJvm {
    private ChildJvm() {}

    /** The command running {@code mainClass} with {@code extraOptions} before it. */
    static List<String> command(Class<?> mainClass, String... extraOptions) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        if (Runtime.version().feature() >= 22) {
            cmd.add("--enable-native-access=ALL-UNNAMED"); // else Java 24+ warns on stderr
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("-D" + NativeLibraryLocator.PROPERTY + "=" + System.getProperty(NativeLibraryLocator.PROPERTY));
        String backend = System.getProperty(Backends.PROPERTY);
        if (backend != null) {
            cmd.add("-D" + Backends.PROPERTY + "=" + backend);
        }
        cmd.addAll(List.of(extraOptions));
        cmd.add(mainClass.getName());
        return cmd;
    }
}
