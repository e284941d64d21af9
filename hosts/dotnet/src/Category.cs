namespace Membudget
{
    /// <summary>The five quota categories of a membudget runtime (<c>MB_CATEGORY_*</c>).</summary>
    public enum Category : uint
    {
        /// <summary>Framework + task heap: a .NET host reports its GC heap growth here.</summary>
        Heap = 0,
        /// <summary>Framework + task off-heap: the host's native buffers.</summary>
        Direct = 1,
        /// <summary>Managed memory (<see cref="ManagedMemory"/> pages).</summary>
        Managed = 2,
        /// <summary>Network memory (<see cref="LocalBufferPool"/> buffers).</summary>
        Network = 3,
        /// <summary>JVM metaspace + JVM overhead (runtime overhead for other hosts).</summary>
        Overhead = 4,
    }

    /// <summary>Which Flink process the plan is for (<c>MB_ROLE_*</c>).</summary>
    public enum Role : uint
    {
        /// <summary>A TaskManager plan (the default): managed memory and network buffers.</summary>
        TaskManager = 0,
        /// <summary>A JobManager plan: heap, off-heap and overhead only.</summary>
        JobManager = 1,
    }
}
