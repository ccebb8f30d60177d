namespace FlowKit;

/// <summary>The <see cref="TaskScheduler"/> behind <see cref="ThreadExecutor.Scheduler"/>.</summary>
internal sealed class ThreadExecutorScheduler(ThreadExecutor owner) : TaskScheduler
{
    public override int MaximumConcurrencyLevel => owner.MaxWorkers;

    protected override void QueueTask(Task task)
    {
        if (!owner.TryEnqueue(new SchedulerItem(this, task)))
        {
            // After shutdown a continuation must still run somewhere; dropping it would strand its awaiter forever.
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Scheduler.TryExecuteTask(s.Task), new SchedulerItem(this, task), preferLocal: false);
        }
    }

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        !taskWasPreviouslyQueued && owner.IsWorkerThread && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks() => owner.SnapshotScheduledTasks();

    internal sealed class SchedulerItem(ThreadExecutorScheduler scheduler, Task task) : ThreadWorkItem
    {
        public ThreadExecutorScheduler Scheduler => scheduler;

        public Task Task => task;

        public override void Run() => scheduler.TryExecuteTask(task);

        // A Task cannot be cancelled from outside; a cancelling shutdown hands it to the thread pool so it still completes.
        public override void CancelPending() =>
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Scheduler.TryExecuteTask(s.Task), this, preferLocal: false);
    }
}
