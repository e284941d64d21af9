using System.Runtime.CompilerServices;

// The tests check the status-to-exception mapping directly.
[assembly: InternalsVisibleTo("Membudget.Tests")]
