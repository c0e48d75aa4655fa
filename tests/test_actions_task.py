"""``client.task``: the generated methods post the right path and wire body and parse."""

from __future__ import annotations

from actions_support import mocked_client, route, sent

from cme_async._converter import converter
from cme_async._generated.models import DescribeTasksResponse, SortBy, TaskInfo


async def test_describe_tasks_and_delete() -> None:
    task = {
        "TaskId": "1400293698-tfusion-x",
        "TaskType": "VIDEO_EDIT_PROJECT_EXPORT",
        "Status": "SUCCESS",
        "Progress": 100,
        "CreateTime": "2019-12-13T03:23:26.048Z",
        "ErrCode": 0,
    }
    async with mocked_client() as (client, router):
        describe = route(router, "Task", "DescribeTasks").respond(
            json={
                "Code": "Success",
                "Message": "成功",
                "EnglishMessage": "success",
                "Data": {"TotalCount": 1, "TaskInfoSet": [task]},
            }
        )
        delete = route(router, "Task", "DeleteTask").respond(json={"Code": "Success"})
        result = await client.task.describe_tasks(
            task_ids=["1400293698-tfusion-x"],
            status_set=["SUCCESS"],
            sort=SortBy(field="CreateTime"),
        )
        assert await client.task.delete_task(task_id="1400293698-tfusion-x") is None
    assert sent(describe) == {
        "TaskIds": ["1400293698-tfusion-x"],
        "StatusSet": ["SUCCESS"],
        "Sort": {"Field": "CreateTime"},
    }
    assert sent(delete) == {"TaskId": "1400293698-tfusion-x"}
    assert isinstance(result, DescribeTasksResponse)
    assert result.total_count == 1
    info = result.task_info_set[0] if result.task_info_set else None
    assert isinstance(info, TaskInfo)
    assert (info.task_type, info.status, info.progress) == (
        "VIDEO_EDIT_PROJECT_EXPORT",
        "SUCCESS",
        100,
    )
    assert info.unknown_fields == {"ErrCode": 0}
    # Reusing the object sends the unknown field back unchanged.
    assert converter.unstructure(info) == task
