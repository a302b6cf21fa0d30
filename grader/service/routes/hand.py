"""Hand grading's routes: the JSON API of grades and groups, the TA's pages of a part, regrade
requests (API and pages) and the rubric's edit."""

from fastapi import APIRouter

from grader.service.hand import page, request_routes, routes, rubric_page

router = APIRouter()
router.include_router(routes.router)
router.include_router(page.router)
router.include_router(request_routes.router)  # regrade requests
router.include_router(rubric_page.router)
