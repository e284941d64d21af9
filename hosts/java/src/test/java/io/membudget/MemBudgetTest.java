package io.membudget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.membudget.internal.Backends;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MemBudgetTest {
    @Test
    void abiVersionIsOneDotSomething() {
        assertEquals((1 << 16) | 2, MemBudget.abiVersion());
        assertEquals(MemBudget.abiVersion(), Backends.abi().abiVersion());
        assertTrue(MemBudget.librarySource().contains("libmembudget"), MemBudget.librarySource());
    }

    @Test
    void planJsonAndJvmArgsAreTheCliOutputs() {
        try (MemBudget budget = Runtimes.open()) {
            String json = budget.planJson();
            assertTrue(json.contains("\"role\": \"taskmanager\""), json);
            assertTrue(json.contains("\"total_process_memory\": 1073741824"), json);
            assertTrue(json.contains("\"network_buffers\": 2048"), json);
            assertTrue(budget.jvmArgs().startsWith("-Xmx161061270 -Xms161061270 -XX:MaxDirectMemorySize="),
                    budget.jvmArgs());
            assertTrue(json.contains("\"direct\": " + budget.usage(Category.DIRECT).quota()), json);
        }
    }

    @Test
    void configErrorIsIllegalConfigurationWithFlinksMessage() {
        IllegalConfigurationException e = assertThrows(IllegalConfigurationException.class,
                () -> Runtimes.oneGiB().property("taskmanager.memory.process.size", "64m").build());
        assertTrue(e.getMessage().startsWith("TaskManager memory configuration failed"), e.getMessage());
        assertEquals(-8, e.status());
        assertThrows(IllegalConfigurationException.class,
                () -> Runtimes.oneGiB().property("taskmanager.memory.managed.fraction", "2.5").build());
    }

    @Test
    void malformedDynamicPropertyIsTheLibrarysInvalidArgument() {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> MemBudget.builder().dynamicProperty("no-equals-sign").build());
        assertTrue(e.getMessage().contains("expected 'key=value'"), e.getMessage());
    }

    @Test
    void keysThatWouldBeSplitDifferentlyAreRefusedBeforeTheCall() {
        // "a=b" + "c" would reach the library as "a=b=c": key "a", silently another option.
        assertThrows(InvalidArgumentException.class, () -> MemBudget.builder().property("a=b", "c"));
        assertThrows(InvalidArgumentException.class, () -> MemBudget.builder().property(" ", "c"));
        // A NUL would cut the C string short.
        assertThrows(InvalidArgumentException.class,
                () -> MemBudget.builder().property("taskmanager.memory.process.size", "1g\0junk"));
    }

    @Test
    void dynamicPropertiesAndMapsAreTheSameOptions() {
        try (MemBudget a = MemBudget.builder().ignoreContainer(true)
                        .dynamicProperty("taskmanager.memory.process.size=2g").build();
                MemBudget b = MemBudget.builder().ignoreContainer(true)
                        .properties(Map.of("taskmanager.memory.process.size", "2g")).build()) {
            assertEquals(a.planJson(), b.planJson());
            assertTrue(a.planJson().contains("\"total_process_memory\": 2147483648"));
        }
    }

    @Test
    void configFileIsRead(@TempDir Path dir) throws Exception {
        Path conf = dir.resolve("flink-conf.yaml");
        Files.writeString(conf, "taskmanager.memory.process.size: 1536m\n");
        try (MemBudget budget = MemBudget.builder().configFile(conf).ignoreContainer(true).build()) {
            assertTrue(budget.planJson().contains("\"total_process_memory\": 1610612736"));
        }
        IllegalConfigurationException e = assertThrows(IllegalConfigurationException.class,
                () -> MemBudget.builder().configFile(dir.resolve("missing.yaml")).build());
        assertTrue(e.getMessage().contains("missing.yaml"), e.getMessage());
    }

    /** Runs {@link EnvironmentProbe} {@code mode} in a child JVM with {@code env}; its output. */
    static String probe(String mode, Map<String, String> env) throws Exception {
        java.util.List<String> cmd = new java.util.ArrayList<>(ChildJvm.command(EnvironmentProbe.class));
        cmd.add(mode);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("MEMBUDGET_"));
        pb.environment().putAll(env);
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out.strip();
    }

    @Test
    void theEnvironmentIsReadWhenAsked() throws Exception {
        assertEquals("\"total_process_memory\": 3221225472",
                probe("plan", Map.of("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE", "3g")));
    }

    @Test
    void quotasComeFromTheEnvironmentWhenAsked() throws Exception {
        // What `membudget plan --format env` exports for a 1 GiB TaskManager.
        Map<String, String> env = Map.of(
                "MEMBUDGET_QUOTA_ROLE", "taskmanager",
                "MEMBUDGET_QUOTA_HEAP", "161061270",
                "MEMBUDGET_QUOTA_DIRECT", "134217728",
                "MEMBUDGET_QUOTA_MANAGED", "241591914",
                "MEMBUDGET_QUOTA_NETWORK", "67108864",
                "MEMBUDGET_QUOTA_OVERHEAD", "469762048",
                "MEMBUDGET_QUOTA_TOTAL", "1073741824");
        assertEquals("HEAP=161061270 DIRECT=134217728 MANAGED=241591914 NETWORK=67108864"
                + " OVERHEAD=469762048\npool of 2048 buffers: true\nUnavailableException: mb_plan_json:"
                + " the runtime's quotas come from the environment (MEMBUDGET_QUOTA_*), so it has"
                + " no plan; mb_usage gives its quotas", probe("quotas", env));
        String missing = probe("quotas", Map.of("MEMBUDGET_QUOTA_HEAP", "1g"));
        assertTrue(missing.startsWith("IllegalConfigurationException: MEMBUDGET_QUOTA_MANAGED is not set"),
                missing);
        String typo = probe("quotas", Map.of("MEMBUDGET_QUOTA_NETWROK", "1g"));
        assertTrue(typo.startsWith("IllegalConfigurationException: Unknown quota variable"
                + " MEMBUDGET_QUOTA_NETWROK"), typo);
    }

    @Test
    void planOptionsWithQuotasFromTheEnvironmentAreRefused() {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> Runtimes.oneGiB().quotasFromEnvironment(true).build());
        assertTrue(e.getMessage().contains("would not be applied"), e.getMessage());
    }

    @Test
    void refusalsAreReportedOnStderrWhenAsked() throws Exception {
        String out = probe("report", Map.of());
        assertTrue(out.contains("membudget: Cannot reserve 1099511627776 bytes of direct memory"
                + " (used: 0, quota: 134217728). Increase 'taskmanager.memory.task.off-heap.size'"), out);
        assertTrue(out.endsWith("caught"), out);
    }

    @Test
    void jobManagerHasNoNetworkBuffersOrManagedMemory() {
        try (MemBudget jm = MemBudget.builder().role(Role.JOBMANAGER)
                .property("jobmanager.memory.process.size", "1g").ignoreContainer(true).build()) {
            assertTrue(jm.planJson().contains("\"role\": \"jobmanager\""));
            UnavailableException e = assertThrows(UnavailableException.class,
                    () -> jm.createLocalBufferPool(1, 2));
            assertTrue(e.getMessage().contains("no network buffers"), e.getMessage());
            assertEquals(0, jm.usage(Category.MANAGED).quota());
        }
    }

    @Test
    void usageReportsQuotasAndUnlimitedTotals() {
        try (MemBudget budget = Runtimes.open()) {
            CategoryUsage direct = budget.usage(Category.DIRECT);
            assertEquals(Category.DIRECT, direct.category());
            assertEquals(134217728L, direct.quota());
            assertTrue(direct.enforced() && direct.hasQuota());
            assertEquals(0, direct.used());
            CategoryUsage network = budget.usage(Category.NETWORK);
            assertEquals(2048L * 32768L, network.used()); // the network pool is charged up front
        }
    }

    @Test
    void aClosedRuntimeIsRefusedWithTheLibrarysMessage() {
        MemBudget budget = Runtimes.open();
        budget.close();
        assertTrue(budget.isClosed());
        budget.close(); // idempotent
        InvalidHandleException e = assertThrows(InvalidHandleException.class,
                () -> budget.reserve(Category.HEAP, 1));
        assertTrue(e.getMessage().startsWith("invalid runtime handle 0x"), e.getMessage());
        assertTrue(e.getMessage().contains("already freed"), e.getMessage());
        assertThrows(InvalidHandleException.class, budget::planJson);
        assertThrows(InvalidHandleException.class, () -> budget.usage(Category.HEAP));
        assertThrows(InvalidHandleException.class, () -> budget.createLocalBufferPool(1, 1));
        assertThrows(InvalidHandleException.class, () -> budget.managedMemory().allocatePages(1, 1));
        assertTrue(budget.toString().endsWith(", closed]"));
    }

    @Test
    void aRuntimeClosedOnAnotherThreadIsRefusedOnThisOne() throws Exception {
        MemBudget budget = Runtimes.open();
        budget.reserve(Category.HEAP, 1 << 20);
        Thread t = new Thread(budget::close);
        t.start();
        t.join();
        // Everything reserved was released with the runtime; this thread's call is refused.
        assertThrows(InvalidHandleException.class, () -> budget.release(Category.HEAP, 1 << 20));
        assertTrue(budget.isClosed());
    }
}
