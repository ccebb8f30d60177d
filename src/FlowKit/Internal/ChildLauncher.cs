namespace FlowKit.Internal;

/// <summary>Queues a child's first step where Trio would: on the caller's loop or scheduler when it has one, else on the thread pool.</summary>
internal static class ChildLauncher
{
    internal interface IWorkItem
    {
        void Run();
    }

    public static void Launch(IWorkItem item)
    {
        var context = SynchronizationContext.Current;
        if (context is not null && context.GetType() != typeof(SynchronizationContext))
        {
            context.Post(static s => ((IWorkItem)s!).Run(), item);
            return;
        }

        var scheduler = TaskScheduler.Current;
        if (scheduler != TaskScheduler.Default)
        {
            // Run() never throws (it turns a throwing child into a faulted task), so this task needs no observer.
            _ = Task.Factory.StartNew(static s => ((IWorkItem)s!).Run(), item, CancellationToken.None, TaskCreationOptions.DenyChildAttach, scheduler);
            return;
        }

        ThreadPool.QueueUserWorkItem(static i => i.Run(), item, preferLocal: false);
    }
}
